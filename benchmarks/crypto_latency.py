"""Latency of the crypto prediction route through the whole suite (Serve ingress with JWT
auth, rate limit, handle call to the Crypto deployment), batching off (baseline) vs on.

    python benchmarks/crypto_latency.py            # ~3-4 minutes
    python benchmarks/crypto_latency.py --quick    # shorter runs

It starts its own local Ray + Serve on 127.0.0.1 (a free port, a temporary data dir, the same
proxy mode as ``make run``), stores the newest BTC/USDT hourly candles of ``../shared`` (or
labelled synthetic ones), trains and registers a small model, and then measures, in one run:

* closed loop (``wrk``, else an async httpx generator): 1, 10 and 100 concurrent clients, each
  for ``--duration`` seconds, with the prediction cache on (normal serving: every request after
  the first for a candle is a cache hit) and off (every request runs features + the model, so
  the batching path is what is measured); batching is switched off and on through the replica's
  ``reconfigure`` (the user_config path), so both runs share the same warm replicas;
* the platform's floor in the same run: ``/api/v1/auth/me`` (authentication only) and
  ``/api/v1/echo`` (authentication + one handle call, like an uncached prediction);
* open loop at ``--rate`` requests per second (100 by default) for ``--duration`` seconds: the
  goal is p99 <= 20 ms; latency counts from the scheduled send time (no coordinated omission).

The load generator shares the machine's cores with the suite; the load average at start and end
is printed, since other work on the machine moves every number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
GOAL_P99_MS = 20.0


@dataclass
class Run:
    mode: str
    clients: int | str
    batching: bool | None  # None: not the crypto route
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int
    requests: int
    largest_batch: int = 0
    computed: int = 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


# ------------------------------------------------------------------ load generators
_WRK_LINE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$")
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, token: str, clients: int, seconds: float) -> tuple[float, float, float, int, int]:
    """``(p50 ms, p99 ms, req/s, errors, requests)`` from one wrk run."""
    threads = max(1, min(2, clients))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency",
         "--timeout", "10s", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout
    pct: dict[str, float] = {}
    for line in out.splitlines():
        match = _WRK_LINE.match(line)
        if match:
            pct[match.group(1)] = float(match.group(2)) * _UNIT[match.group(3)]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*?timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (int(socket_errors.group(1)) if socket_errors
                                                  else 0)
    return pct.get("50", float("nan")), pct.get("99", float("nan")), rps, errors, total


async def closed_loop(
    url: str, token: str, clients: int, seconds: float, max_requests: int = 200_000
) -> tuple[float, float, float, int, int]:
    """The httpx fallback of :func:`wrk` (bounded in time and count)."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=10) as http:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline and len(latencies) + errors < max_requests:
                began = time.perf_counter()
                try:
                    ok = (await http.get(url)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - began) * 1000)
                else:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    done = len(latencies) + errors
    return (_percentile(latencies, 50), _percentile(latencies, 99), done / elapsed, errors, done)


async def open_loop(
    url: str, token: str, rate: float, seconds: float
) -> tuple[float, float, float, int, int]:
    """Requests sent on a fixed schedule (``rate``/s), latency from the scheduled time."""
    latencies: list[float] = []
    errors = 0
    count = int(rate * seconds)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=10) as http:
        for _ in range(20):  # open the connections before the clock starts
            await http.get(url)
        start = time.perf_counter() + 0.05

        async def one(i: int) -> None:
            nonlocal errors
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                ok = (await http.get(url)).status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - due) * 1000)
            else:
                errors += 1

        await asyncio.gather(*(one(i) for i in range(count)))
        elapsed = time.perf_counter() - start
    return (_percentile(latencies, 50), _percentile(latencies, 99), count / elapsed, errors, count)


# ------------------------------------------------------------------ the suite
def start_suite(data_dir: Path, port: int, fast_proxy: bool) -> Any:
    os.environ.update({
        "ARMILLARY_DATA_DIR": str(data_dir),
        "ARMILLARY_HTTP_PORT": str(port),
        "ARMILLARY_RATE_LIMIT_PER_MINUTE": "100000000",
        "ARMILLARY_FAST_PROXY": "true" if fast_proxy else "false",
        "ARMILLARY_CRYPTO_REFRESH_S": "5",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    })
    import ray
    from ray import serve

    from cluster.local import APP_NAME, bootstrap_stores, prepare_environment
    from config.settings import load_settings
    from deployments.app import AppArgs, build_app
    from storage.stores import open_stores

    settings = load_settings()
    prepare_environment(settings)
    ray.init(num_cpus=int(settings.ray_num_cpus), namespace=APP_NAME, include_dashboard=False,
             log_to_driver=False)
    asyncio.run(bootstrap_stores(settings, open_stores(settings, via_ray=True)))
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app(AppArgs(ingress_max_replicas=1)), name=APP_NAME, route_prefix="/")
    return settings


async def prepare_model(settings: Any, rows: int) -> str:
    """Store candles and register a small model; returns where the candles came from."""
    import pandas as pd

    from actors.crypto.csv_import import import_ohlcv
    from actors.crypto.stores import CryptoStores
    from actors.crypto.synthetic import synthetic_candles
    from storage.stores import open_stores
    from training.crypto_train import QuickTrainConfig, train_and_register

    shared = settings.shared_dir or REPO_ROOT.parent / "shared"
    path = shared / "data" / "crypto" / "ohlcv" / "Binance_BTCUSDT_1h.csv"
    if path.is_file():
        frame = (await asyncio.to_thread(import_ohlcv, path))[0].iloc[-rows:]
        source, label = {"kind": "shared", "path": str(path)}, f"{path.name} (newest {rows})"
    else:
        frame = synthetic_candles(rows, end=pd.Timestamp.now(tz="UTC"))
        source, label = {"kind": "synthetic"}, f"SYNTHETIC random walk ({rows} candles)"
    stores = open_stores(settings, via_ray=True)
    await stores.database.connect()
    try:
        data = CryptoStores(stores.timeseries, stores.warehouse)
        await data.write_candles(frame, "BTC/USDT", "1h", source["kind"])
        config = QuickTrainConfig(last_rows=rows, epochs=1, folds=1, test_size=100)
        await train_and_register(settings, stores.database, frame, symbol="BTC/USDT",
                                 interval="1h", config=config, source=source)
    finally:
        await stores.database.close()
    return label


def replica() -> Any:
    from ray import serve

    from cluster.local import APP_NAME

    return serve.get_deployment_handle("Crypto", app_name=APP_NAME)


def configure(settings: Any, **overrides: Any) -> None:
    """The user_config path: the running replica's ``reconfigure`` with new serving values."""
    from deployments.crypto.config import user_config

    replica().reconfigure.remote(user_config(settings, overrides)).result(timeout_s=60)


def stats(reset: bool = False) -> dict[str, int]:
    """The replica's counters (and zero them with ``reset``)."""
    call = replica().reset_stats if reset else replica().status
    result = call.remote().result(timeout_s=60)
    return dict(result if reset else result["stats"])


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per run instead of 8")
    parser.add_argument("--duration", type=float, default=None, help="seconds per run")
    parser.add_argument("--clients", default="1,10,100")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests/s")
    parser.add_argument("--rows", type=int, default=1500, help="candles stored and trained on")
    parser.add_argument("--generator", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--no-fast-proxy", action="store_true",
                        help="Serve's default proxy instead of the HAProxy mode of make run")
    args = parser.parse_args(argv)
    seconds = args.duration or (3.0 if args.quick else 8.0)
    clients = [int(c) for c in args.clients.split(",")]
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    load_start = os.getloadavg()
    data_dir = Path(tempfile.mkdtemp(prefix="armillary-bench-crypto-"))
    port = _free_port()
    try:
        began = time.perf_counter()
        settings = start_suite(data_dir, port, fast_proxy=not args.no_fast_proxy)
        label = asyncio.run(prepare_model(settings, args.rows))
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(f"{base}/api/v1/auth/token", timeout=30, data={
            "username": "admin", "password": settings.admin_password.get_secret_value()},
        ).json()["access_token"]
        url = f"{base}/api/v1/crypto/BTC-USDT/prediction"
        first = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        if first.status_code != 200:
            print(f"prediction route not ready: {first.status_code} {first.text}")
            return 1
        print(f"setup {time.perf_counter() - began:.0f} s; data: {label}; model "
              f"{first.json()['model']['name']} v{first.json()['model']['version']}; "
              f"generator: {'wrk' if use_wrk else 'httpx'} (closed loop), httpx (open loop); "
              f"proxy: {'Serve default' if args.no_fast_proxy else 'HAProxy mode (make run)'}")
        runs: list[Run] = []
        floors = (("auth only", f"{base}/api/v1/auth/me"),
                  ("echo", f"{base}/api/v1/echo?message=x"))
        for name, floor_url in floors:  # the platform's cost, without the crypto deployment
            for c in clients:
                if use_wrk:
                    p50, p99, rps, errors, total = wrk(floor_url, token, c, seconds)
                else:
                    p50, p99, rps, errors, total = asyncio.run(
                        closed_loop(floor_url, token, c, seconds))
                runs.append(Run(name, c, None, p50, p99, rps, errors, total))
        for cache in (True, False):
            for batching in (False, True):
                configure(settings, batching=batching, cache_predictions=cache)
                for c in clients:
                    stats(reset=True)
                    if use_wrk:
                        p50, p99, rps, errors, total = wrk(url, token, c, seconds)
                    else:
                        p50, p99, rps, errors, total = asyncio.run(
                            closed_loop(url, token, c, seconds))
                    after = stats()
                    runs.append(Run("cache on" if cache else "cache off", c, batching, p50, p99,
                                    rps, errors, total, after["largest_batch"],
                                    after["computed"]))
        for batching in (False, True):
            configure(settings, batching=batching, cache_predictions=True)
            p50, p99, rps, errors, total = asyncio.run(open_loop(url, token, args.rate, seconds))
            runs.append(Run("cache on", f"{args.rate:g}/s", batching, p50, p99, rps, errors,
                            total))
        _print(runs, seconds)
    finally:
        import ray
        from ray import serve

        if ray.is_initialized():
            serve.shutdown()
            ray.shutdown()
        shutil.rmtree(data_dir, ignore_errors=True)
    load_end = os.getloadavg()
    print(f"load average (1 min) at start {load_start[0]:.1f}, at end {load_end[0]:.1f}, "
          f"{os.cpu_count()} CPUs")
    return 0


def _print(runs: list[Run], seconds: float) -> None:
    header = (f"{'mode':<10} {'clients':>8} {'batching':>9} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'req/s':>8} {'errors':>7} {'computed':>9} {'max batch':>9} {'p99 on/off':>11}")
    print(f"\n{seconds:g} s per run; 'computed' = model evaluations during the run, 'max batch'"
          " = the largest batch the replica formed.\nFloors: 'auth only' = GET /api/v1/auth/me"
          " (JWT + revocation + rate limit), 'echo' = auth + one handle call.\n'cache on' ="
          " normal serving (repeats answered in the ingress or the replica); 'cache off' = every"
          " request computes features + model.")
    print(header)
    print("-" * len(header))
    baseline = {(r.mode, r.clients): r for r in runs if r.batching is False}
    for r in runs:
        ratio = ""
        if r.batching and (r.mode, r.clients) in baseline:
            ratio = f"{r.p99_ms / baseline[(r.mode, r.clients)].p99_ms:.2f}"
        flag = "-" if r.batching is None else "on" if r.batching else "off"
        crypto_closed = r.batching is not None and isinstance(r.clients, int)
        print(f"{r.mode:<10} {r.clients!s:>8} {flag:>9} "
              f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.rps:>8.0f} {r.errors:>7} "
              f"{r.computed if crypto_closed else '':>9} "
              f"{r.largest_batch if crypto_closed else '':>9} {ratio:>11}")
    goal = [r for r in runs if isinstance(r.clients, str)]
    for r in goal:
        verdict = "met" if r.p99_ms <= GOAL_P99_MS and r.errors == 0 else "MISSED"
        print(f"goal p99 <= {GOAL_P99_MS:g} ms at {r.clients} (batching "
              f"{'on' if r.batching else 'off'}): p99 {r.p99_ms:.2f} ms -> {verdict}")
    spread = [r.p99_ms for r in runs if r.mode == "cache on" and isinstance(r.clients, int)]
    if spread:
        print(f"median p99 over the cache-on closed-loop runs: {statistics.median(spread):.2f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
