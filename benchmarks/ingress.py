"""Ingress latency and throughput: an authenticated ``GET /api/v1/echo`` (JWT check,
revocation lookup, per-user rate limit, one call to the Echo deployment) through the
Serve ingress, against the same app under bare uvicorn (1 worker, uvloop) — same
machine, same run, same stores (SQLite + Redis cache) — and reports the ratios.

    .venv/bin/python benchmarks/ingress.py [--seconds 8]

Needs `wrk` (Debian package) and Redis on 127.0.0.1:6379. The load generator shares
the machine's cores with the servers, as the anchors in DESIGN.md did.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cluster.ports import free_port  # noqa: E402

PASSWORD = "benchmark-password"  # noqa: S105
LUA = """
wrk.headers["Authorization"] = "Bearer TOKEN"
"""


@dataclass
class Run:
    setup: str
    clients: int
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, token: str, clients: int, seconds: int, setup: str) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.replace("TOKEN", token))
    threads = min(clients, 2)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency", "-s",
         script.name, f"{url}/api/v1/echo?message=ping"],
        capture_output=True, text=True, check=True,
    ).stdout
    os.unlink(script.name)
    # anchored: a stdev column such as "62.50%" must not be read as the 50th percentile
    percentile = {p: re.search(rf"^\s+{p}%\s+([\d.]+\w+)\s*$", out, re.MULTILINE)
                  for p in (50, 99)}
    if not all(percentile.values()):
        raise RuntimeError(f"wrk measured nothing against {url}:\n{out}")
    p50 = _ms(percentile[50].group(1))  # type: ignore[union-attr]
    p99 = _ms(percentile[99].group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Run(setup, clients, p50, p99, rps, int(bad.group(1)) if bad else 0)


def login(url: str) -> str:
    deadline = time.monotonic() + 120
    while True:
        try:
            response = httpx.post(f"{url}/api/v1/auth/token",
                                  data={"username": "bench", "password": PASSWORD}, timeout=10)
            response.raise_for_status()
            return str(response.json()["access_token"])
        except (httpx.TransportError, httpx.HTTPStatusError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def environment(data_dir: Path, cache_url: str) -> dict[str, str]:
    return {
        "ARMILLARY_ENVIRONMENT": "test",
        "ARMILLARY_DATA_DIR": str(data_dir),
        "ARMILLARY_CACHE_URL": cache_url,
        "ARMILLARY_RATE_LIMIT_PER_MINUTE": "100000000",
        "ARMILLARY_ADMIN_USERNAME": "bench",
        "ARMILLARY_ADMIN_PASSWORD": PASSWORD,
    }


def bootstrap(env: dict[str, str]) -> None:
    """Create the benchmark user in that setup's database (in a separate process, so
    this one keeps a clean environment)."""
    code = (
        "import asyncio; from config.settings import load_settings; "
        "from cluster.local import bootstrap_stores; from storage.stores import open_stores; "
        "s = load_settings(); asyncio.run(bootstrap_stores(s, open_stores(s, via_ray=False)))"
    )
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True,
                   cwd=ROOT)


def bench_bare(env: dict[str, str], seconds: int) -> list[Run]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(ROOT / "benchmarks"),
         "bare_app:build", "--port", str(port), "--loop", "uvloop", "--no-access-log",
         "--log-level", "warning"],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        token = login(url)
        wrk(url, token, 4, 2, "warm-up")
        return [wrk(url, token, c, seconds, "bare uvicorn") for c in (1, 16)]
    finally:
        proc.terminate()
        proc.wait(30)


def bench_serve(env: dict[str, str], seconds: int, label: str) -> list[Run]:
    code = """
import os, sys
from cluster.local import fast_proxy_environment
os.environ.update({**fast_proxy_environment(), "RAY_USAGE_STATS_ENABLED": "0"})
import ray
from ray import serve
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
from deployments.app import AppArgs, build_app
serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[1])})
serve.run(build_app(AppArgs(ingress_max_replicas=1)), name="bench", route_prefix="/")
print("READY", flush=True)
sys.stdin.read()
serve.shutdown(); ray.shutdown()
"""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(port)], env={**os.environ, **env}, cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("READY"):
                break
        url = f"http://127.0.0.1:{port}"
        token = login(url)
        wrk(url, token, 4, 3, "warm-up")
        return [wrk(url, token, c, seconds, label) for c in (1, 16)]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()


def table(runs: list[Run]) -> str:
    base = {r.clients: r for r in runs if r.setup == "bare uvicorn"}
    lines = [
        "| setup | clients | p50 ms | p99 ms | req/s | non-2xx | p50 vs bare | req/s vs bare |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        b = base[r.clients]
        lines.append(
            f"| {r.setup} | {r.clients} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.rps:.0f} | "
            f"{r.errors} | {r.p50_ms / b.p50_ms:.2f}x | {r.rps / b.rps:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install wrk", file=sys.stderr)
        return 2
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"{args.redis}?prefix=bench{os.getpid()}:"
        setups = [
            ("bare uvicorn", Path(tmp, "bare"), prefix),
            ("Serve (HAProxy), Redis cache", Path(tmp, "serve"), prefix),
            ("Serve (HAProxy), embedded cache actor", Path(tmp, "serve-embedded"), "memory://cache"),
        ]
        for label, data_dir, cache in setups:
            env = environment(data_dir, cache)
            bootstrap(env)
            if label == "bare uvicorn":
                runs += bench_bare(env, args.seconds)
            else:
                runs += bench_serve(env, args.seconds, label)
    print(table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
