"""Where the ingress replica's CPU goes under load: py-spy samples the Serve ingress
replica (embedded stores, the `make run` default) while wrk drives authenticated
``GET /api/v1/echo`` at 16 clients, and prints the samples by category (JWT decode,
revocation / rate-limit store round trips, JSON logging, metrics, the handle call, ...).

    .venv/bin/python benchmarks/ingress_profile.py [--seconds 20] [--root PATH]

``--root``: profile the app code of another checkout (e.g. an exported older commit) with
this script. Needs py-spy (pip) and wrk (apt, installed on demand when root); py-spy
needs ptrace rights over the replica (root, or a matching ptrace scope).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingress as bench

CATEGORIES: list[tuple[str, re.Pattern[str]]] = [
    ("JWT decode", re.compile(r"\(jwt/|decode \(deployments/ingress/security\.py")),
    ("revocation lookup (store round trip or local copy)",
     re.compile(r"revocation\.py|get_many_and_hit|_authenticate \(|get_many \(")),
    ("rate limit (reservation / store)", re.compile(r"ratelimit\.py|incr_window|\.hit \(")),
    ("access log (JSON formatting, write)",
     re.compile(r"pythonjsonlogger|\(logging/|logs\.py")),
    ("metrics (prometheus_client)", re.compile(r"prometheus_client")),
    ("handle call to Echo", re.compile(r"HandleTransport|serve/handle\.py|"
                                       r"serve/_private/router")),
    ("FastAPI / Starlette / pydantic (routing, deps, JSON)",
     re.compile(r"fastapi/|starlette/|pydantic")),
    ("Serve replica machinery (ASGI bridge, metrics, queues)", re.compile(r"ray/serve/")),
    ("Ray core (task / actor calls, object refs)", re.compile(r"ray/_private|_raylet|ray/")),
    ("event loop (uvloop / asyncio)", re.compile(r"asyncio/|uvloop")),
]


WAITING = re.compile(r"^(QueueListener\.dequeue|Condition\.wait|Worker\.main_loop|Thread\.run|"
                     r"UnaryUnaryCall\._invoke|Event\.wait) ")
"""Leaf frames of threads blocked in C (a queue, a lock, Ray's worker loop, gRPC), which
py-spy does not always see as idle: counted apart, not as the work of a category."""
BLOCKED = "(threads blocked in C: queue, lock, Ray worker loop, gRPC)"


def ingress_pid(root: int) -> int:
    for pid in bench._descendants(root):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "ServeReplica:bench:Ingress" in cmdline:
            return pid
    raise RuntimeError("no Ingress replica found")


def categorise(raw: str) -> collections.Counter[str]:
    """py-spy's raw (collapsed) stacks: ``frame;frame;... count`` per line."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        if WAITING.match(stack.rsplit(";", 1)[-1]):
            counts[BLOCKED] += int(n)
            continue
        for name, pattern in CATEGORIES:
            if pattern.search(stack):
                counts[name] += int(n)
                break
        else:
            counts["other"] += int(n)
    return counts


def print_table(counts: collections.Counter[str], what: str) -> None:
    total = sum(counts.values()) or 1
    working = total - counts[BLOCKED] or 1
    print(f"Ingress replica samples by category ({what}): {total} samples, "
          f"{working} of them Python work")
    print("| category | samples | share of all | share of Python work |\n|---|---|---|---|")
    for name, n in counts.most_common():
        share = "-" if name == BLOCKED else f"{100 * n / working:.1f}%"
        print(f"| {name} | {n} | {100 * n / total:.1f}% | {share} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--root", type=Path, default=bench.ROOT,
                        help="checkout whose app code is profiled (default: this one)")
    parser.add_argument("--raw", type=Path, default=None,
                        help="also keep py-spy's collapsed stacks in this file")
    parser.add_argument("--from-raw", type=Path, default=None,
                        help="only categorise collapsed stacks kept earlier with --raw")
    args = parser.parse_args()
    if args.from_raw is not None:
        print_table(categorise(args.from_raw.read_text()), f"{args.from_raw}")
        return 0
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists() or not bench.ensure_wrk():
        print("needs py-spy (pip install py-spy) and wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    bench.ROOT = args.root.resolve()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**bench.environment(Path(tmp, "data"), "memory://cache"),
               "PYTHONPATH": str(bench.ROOT)}
        os.environ["PYTHONPATH"] = str(bench.ROOT)
        bench.bootstrap(env)
        out = Path(tmp, "profile.txt")
        with bench.serve_app(env) as (url, root):
            token = bench.login(url)
            bench.wrk(url, token, 4, 3, "warm-up")
            pid = ingress_pid(root)
            load = threading.Thread(target=bench.wrk,
                                    args=(url, token, 16, args.seconds + 4, "profile"))
            load.start()
            subprocess.run([py_spy, "record", "--pid", str(pid), "--duration",
                            str(args.seconds), "--rate", "200", "--format", "raw",
                            "--nonblocking", "--output", str(out)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            load.join()
        counts = categorise(out.read_text())
        if args.raw is not None:
            shutil.copyfile(out, args.raw)
    print_table(counts, f"{args.root}, 16 clients, {args.seconds} s")
    load_end = os.getloadavg()
    print(f"load average at start {'/'.join(f'{x:.2f}' for x in load_start)}, at end "
          f"{'/'.join(f'{x:.2f}' for x in load_end)} (shared machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
