"""Ingress latency and throughput: an authenticated ``GET /api/v1/echo`` (JWT check,
revocation lookup, per-user rate limit, one call to the Echo deployment) through the
Serve ingress, against the same app under bare uvicorn (1 worker, uvloop) — same
machine, same run, same stores (SQLite + Redis cache) — and reports the ratios.

    .venv/bin/python benchmarks/ingress.py [--seconds 8] [--no-redis] [--floor] [--in-replica]

Needs `wrk` (Debian package; installed with apt-get when missing and run as root) and,
unless --no-redis, Redis on 127.0.0.1:6379. The load generator shares the machine's cores
with the servers, as the anchors in DESIGN.md did. ``--floor`` adds Serve's floor (an
empty FastAPI ingress deployment, with and without one handle hop: benchmarks/
serve_floor.py); ``--in-replica`` adds the app with echo answered in the ingress replica.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
    cpu_ms_per_request: float = 0.0
    """CPU time of the serving processes per request (robust to a loaded machine, where
    waiting for a core inflates latency)."""


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


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


SERVING = re.compile(r"ServeReplica:\w+:(Ingress|Echo)|StoreOwner|haproxy|ProxyActor|uvicorn")
"""The processes a request passes through (not the Serve controller, the GCS, idle
replicas of other deployments)."""


def serving_pids(root: int) -> list[int]:
    pids = []
    for pid in _descendants(root):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if SERVING.search(cmdline):
            pids.append(pid)
    return pids


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(url: str, token: str, pids: list[int], seconds: int, label: str) -> list[Run]:
    wrk(url, token, 4, 3, "warm-up")
    runs = []
    for clients in (1, 16):
        before = cpu_seconds(pids)
        run = wrk(url, token, clients, seconds, label)
        run.cpu_ms_per_request = (cpu_seconds(pids) - before) * 1000 / max(1.0, run.rps * seconds)
        runs.append(run)
    return runs


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
        return measure(url, token, [proc.pid], seconds, "bare uvicorn")
    finally:
        proc.terminate()
        proc.wait(30)


SERVE = """
import os, sys
from cluster.local import fast_proxy_environment
os.environ.update({**fast_proxy_environment(), "RAY_USAGE_STATS_ENABLED": "0"})
import ray
from ray import serve
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[1])})
if sys.argv[2] == "app":
    from deployments.app import AppArgs, build_app
    app = build_app(AppArgs(ingress_max_replicas=1))
else:
    from benchmarks import serve_floor  # by its package path: replicas import it so
    app = getattr(serve_floor, sys.argv[2])()
serve.run(app, name="bench", route_prefix="/")
print("READY", flush=True)
sys.stdin.read()
serve.shutdown(); ray.shutdown()
"""


@contextlib.contextmanager
def serve_app(env: dict[str, str], app: str = "app") -> Iterator[tuple[str, int]]:
    """The Serve app (``app``: the real one; ``build_floor``/``build_floor_no_hop`` of
    benchmarks/serve_floor.py) on a fresh local Ray; yields its URL and the pid of the
    driver (every Ray process is under it)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port), app],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env}, cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("READY"):
                break
        else:
            raise RuntimeError(f"the Serve app {app} did not start")
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()


def bench_serve(env: dict[str, str], seconds: int, label: str, app: str = "app") -> list[Run]:
    with serve_app(env, app) as (url, root):
        token = login(url) if app == "app" else "none"
        return measure(url, token, serving_pids(root), seconds, label)


def table(runs: list[Run]) -> str:
    base = {r.clients: r for r in runs if r.setup == "bare uvicorn"}
    lines = [
        "| setup | clients | p50 ms | p99 ms | req/s | non-2xx | p50 vs bare | req/s vs bare "
        "| CPU ms/req | CPU vs bare |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        b = base[r.clients]
        lines.append(
            f"| {r.setup} | {r.clients} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.rps:.0f} | "
            f"{r.errors} | {r.p50_ms / b.p50_ms:.2f}x | {r.rps / b.rps:.2f} | "
            f"{r.cpu_ms_per_request:.2f} | {r.cpu_ms_per_request / b.cpu_ms_per_request:.2f}x |"
        )
    return "\n".join(lines)


def ensure_wrk() -> bool:
    """wrk on the PATH, installed with apt-get when missing and this is root on Debian."""
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get install wrk) ...", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False,
                       stdout=subprocess.DEVNULL, env={**os.environ,
                                                       "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk") is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis cache setup")
    parser.add_argument("--floor", action="store_true",
                        help="also measure Serve's floor (benchmarks/serve_floor.py)")
    parser.add_argument("--in-replica", action="store_true",
                        help="also measure the app with echo answered in the ingress replica "
                             "(ARMILLARY_INGRESS_IN_REPLICA_SERVICES=echo)")
    args = parser.parse_args()
    if not ensure_wrk():
        print("wrk is required: apt-get install wrk", file=sys.stderr)
        return 2
    load_start = os.getloadavg()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"{args.redis}?prefix=bench{os.getpid()}:"
        setups: list[tuple[str, str, str, dict[str, str]]] = [("bare uvicorn", "bare", prefix, {})]
        if not args.no_redis:
            setups.append(("Serve (HAProxy), Redis cache", "app", prefix, {}))
        setups.append(("Serve (HAProxy), embedded cache actor", "app", "memory://cache", {}))
        if args.in_replica:
            setups.append(("Serve, embedded, echo in the ingress replica", "app",
                           "memory://cache", {"ARMILLARY_INGRESS_IN_REPLICA_SERVICES": "echo"}))
        if args.floor:
            setups += [
                ("floor: empty Serve ingress + 1 handle hop", "build_floor", "memory://cache",
                 {}),
                ("floor: empty Serve ingress, no hop", "build_floor_no_hop", "memory://cache",
                 {}),
            ]
        for i, (label, app, cache, extra) in enumerate(setups):
            env = {**environment(Path(tmp, str(i)), cache), **extra}
            try:
                if app == "bare":
                    bootstrap(env)
                    runs += bench_bare(env, args.seconds)
                elif app == "app":
                    bootstrap(env)
                    runs += bench_serve(env, args.seconds, label)
                else:
                    runs += bench_serve(env, args.seconds, label, app)
            except Exception as exc:  # reported; the other setups still count
                if app == "bare":
                    raise
                print(f"{label}: failed: {exc}", file=sys.stderr)
    print(table(runs))
    load_end = os.getloadavg()
    print(f"load average 1/5/15 min at start {'/'.join(f'{x:.2f}' for x in load_start)}, "
          f"at end {'/'.join(f'{x:.2f}' for x in load_end)} on {os.cpu_count()} cores; wrk "
          "shares the cores with the servers. On a shared machine latency moves with the "
          "load; CPU ms/req (CPU time of the serving processes per request) moves less.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
