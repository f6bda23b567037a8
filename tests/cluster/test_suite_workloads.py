"""Workloads together, as users run them, on suites started with `armillary up` in their own
processes (`tests/cluster/suite_process.py`):

- batch OCR (the CLI, in a terminal) and a Tune run (a Ray job) on the serving suite's own
  2-CPU node at the same time: both finish, and requests keep answering meanwhile;
- two suites on one host, each with its own ports and Ray cluster: neither ever answers the
  other's requests, not even while one's ingress replica is down.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest

from actors.crypto.synthetic import synthetic_candles, write_synthetic_csv
from tests.cluster.suite_process import ARMILLARY, SuiteProcess
from tests.deployments.ocr_support import png_page

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def suites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SuiteProcess, SuiteProcess]]:
    a = SuiteProcess(tmp_path_factory.mktemp("suite-a"))
    b = SuiteProcess(tmp_path_factory.mktemp("suite-b"))
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        for suite in (a, b):
            suite.stop()


def make_pages(root: Path, n: int) -> Path:
    src = root / "src"
    src.mkdir(parents=True)
    for i in range(n):
        (src / f"page{i:02d}.png").write_bytes(
            png_page([f"Cluster page {i}", "the quick brown fox"]))
    return src


def tune_csv(root: Path) -> Path:
    candles = synthetic_candles(700, end=pd.Timestamp("2026-01-01", tz="UTC"), seed=3)
    return write_synthetic_csv(candles, root / "candles.csv", "BTC/USDT")


def run_in_terminal(command: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as stdout/stderr; (exit code, all it wrote)."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=secondary, stderr=secondary, start_new_session=True)
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the terminal closed: the process ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    return process.wait(60), b"".join(chunks).decode(errors="replace")


def test_batch_ocr_and_tune_progress_while_the_suite_serves(
        suites: tuple[SuiteProcess, SuiteProcess], tmp_path: Path) -> None:
    suite, _ = suites
    src = make_pages(tmp_path, 12)
    out = tmp_path / "out"
    tune = suite.cli("job", "submit", "--preset", "crypto-tune", "--",
                     "--data", str(tune_csv(tmp_path)), "--last-rows", "600",
                     "--num-samples", "2", "--max-epochs", "2",
                     "--storage-path", str(tmp_path / "tune"), timeout_s=120)
    assert tune.returncode == 0, tune.stderr
    job_id = tune.stdout.strip().splitlines()[-1]

    import threading

    latencies: list[float] = []
    failures: list[str] = []
    stop = threading.Event()

    def ask() -> None:  # bounded: stops with the batch, at most ~15 min
        with httpx.Client(base_url=suite.url, headers=suite.headers(), timeout=30) as client:
            for _ in range(4500):
                if stop.is_set():
                    return
                started = time.perf_counter()
                try:
                    response = client.get("/api/v1/auth/me")
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                except httpx.TransportError as exc:
                    failures.append(repr(exc))
                latencies.append(time.perf_counter() - started)
                time.sleep(0.2)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    try:
        code, screen = run_in_terminal(
            [ARMILLARY, "ocr", "batch", str(src), str(out), "--strategy", "single",
             "--no-preprocess"], suite.env, suite.root)
    finally:
        stop.set()
        asker.join(60)
    assert code == 0, screen[-3000:]
    # a progress bar (pages done/total, rate, time left), and no Ray log lines
    assert re.search(r"OCR: 100%[^\r\n]*12/12 pages \[[^]]*(page/s|s/page)\]", screen), \
        screen[-3000:]
    assert "(raylet)" not in screen and "INFO" not in screen, screen[-3000:]
    result, _ = json.JSONDecoder().raw_decode(screen[screen.index("{"):].replace("\r", ""))
    assert result["pages_done"] == 12 and result["error_count"] == 0
    table = pq.read_table(out / "pages.parquet").to_pylist()
    assert len({(r["content_hash"], r["page"]) for r in table}) == len(table) == 12
    assert all("Cluster page" in r["text"] for r in table)

    deadline = time.monotonic() + 600
    state = ""
    while time.monotonic() < deadline:
        status = suite.cli("job", "status", job_id, timeout_s=60)
        state = json.loads(status.stdout)["status"] if status.returncode == 0 else ""
        if state in ("SUCCEEDED", "FAILED", "STOPPED"):
            break
        time.sleep(3)
    logs = suite.cli("job", "logs", job_id, timeout_s=60).stdout
    assert state == "SUCCEEDED", logs[-3000:]

    assert not failures, failures[:5]
    assert len(latencies) >= 10
    print(f"\nrequests during batch OCR + Tune: n={len(latencies)} "
          f"p50={statistics.median(latencies) * 1000:.1f} ms "
          f"max={max(latencies) * 1000:.1f} ms")


def test_two_suites_never_answer_each_others_requests(
        suites: tuple[SuiteProcess, SuiteProcess]) -> None:
    a, b = suites
    ra, rb = a.record(), b.record()
    for name in ("http", "dashboard", "gcs", "serve_fallback_http", "serve_fallback_grpc",
                 "haproxy_stats", "haproxy_metrics"):
        assert ra.ports[name] != rb.ports[name], name
    assert ra.temp_dir != rb.temp_dir
    # each suite knows only its own users: B refuses A's token, A refuses B's
    assert httpx.get(f"{a.url}/api/v1/auth/me", headers=a.headers()).status_code == 200
    assert httpx.get(f"{b.url}/api/v1/auth/me", headers=a.headers()).status_code == 401
    assert httpx.get(f"{a.url}/api/v1/auth/me", headers=b.headers()).status_code == 401

    # A's ingress replicas die: while Serve brings them back, HAProxy sends A's requests to
    # A's own fallback proxy, never to B (which would answer A's token with 401)
    killed = []
    for actor in a.state("actors"):
        if actor["state"] == "ALIVE" and "Ingress" in actor["class_name"] and actor.get("pid"):
            os.kill(int(actor["pid"]), signal.SIGKILL)
            killed.append(actor["pid"])
    assert killed
    statuses: list[int | str] = []
    recovered = None
    started = time.monotonic()
    with httpx.Client(headers=a.headers(), timeout=10) as client:
        for _ in range(300):  # bounded: ~60 s at most
            try:
                statuses.append(client.get(f"{a.url}/api/v1/auth/me").status_code)
            except httpx.TransportError as exc:
                statuses.append(type(exc).__name__)
            if statuses[-1] == 200 and recovered is None and len(statuses) > 1:
                recovered = time.monotonic() - started
            if recovered is not None and time.monotonic() - started > recovered + 3:
                break
            time.sleep(0.2)
    assert 401 not in statuses, statuses
    assert recovered is not None, statuses
    assert httpx.get(f"{b.url}/api/v1/auth/me", headers=b.headers()).status_code == 200
    answers = sorted(set(map(str, statuses)))
    print(f"\nA's ingress killed ({len(killed)} replica(s)): answers {answers}, back after "
          f"{recovered:.1f} s")
