"""The suite on a multi-node Ray cluster on this machine (`armillary up` with a head and two
worker nodes, raylets of their own on 127.0.0.2 and 127.0.0.3; the head keeps no batch work),
and worker nodes killed (SIGKILL of the node's raylet, agents and workers, by pid) in three
situations: under HTTP load, during a batch OCR run, during a Tune run. Each node killed is
started again before the next test."""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from tests.cluster.suite_process import ARMILLARY, SuiteProcess
from tests.cluster.test_suite_workloads import make_pages, tune_csv

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.multinode]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteProcess]:
    process = SuiteProcess(tmp_path_factory.mktemp("multinode"), worker_nodes=2,
                           ray_head_batch="false", ingress_min_replicas=2,
                           rate_limit_per_minute=100_000)
    try:
        process.start(timeout_s=400)
        yield process
    finally:
        process.stop()


def wait_for(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def checkpointed_trial_node(storage: Path, head: str, max_epochs: int) -> str:
    """The worker node of a Tune trial that has a checkpoint and several epochs still to run
    (from its result.json, whose rows name the node), or "". Far from its end, so the kill
    lands while it runs (ASHA is off in the test: no trial is stopped early)."""
    for results in storage.glob("crypto_tune/*/result.json"):
        rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
        last = rows[-1] if rows else {}
        if last.get("checkpoint_dir_name") and not last.get("done") \
                and 0 < int(last.get("epoch", 0)) <= max_epochs // 2 \
                and last.get("node_ip") not in (None, head):
            return str(last["node_ip"])
    return ""


def restart(suite: SuiteProcess, ip: str) -> None:
    wait_for(lambda: ip not in suite.node_ips().values(), 60, f"{ip} counted dead")
    suite.add_node(ip)


def test_three_nodes_and_replicas_spread(suite: SuiteProcess) -> None:
    head = suite.head_ip()
    assert set(suite.node_ips().values()) == {head, "127.0.0.2", "127.0.0.3"}
    replicas = suite.actors_by_node("ServeReplica")
    assert len(replicas) >= 2, replicas
    # the state that lives in one process stays on the head
    owners = suite.actors_by_node("StoreOwner")
    assert set(owners) == {head}, owners


def test_http_load_through_a_worker_node_kill(suite: SuiteProcess) -> None:
    head = suite.head_ip()
    replicas = {ip: n for ip, n in suite.actors_by_node("ServeReplica").items() if ip != head}
    ingress = suite.actors_by_node(":Ingress")
    # the worker node with an Ingress replica (the one every request passes), else the busiest
    victim = max(replicas, key=lambda ip: (ingress.get(ip, 0), replicas[ip]))
    outcomes: list[tuple[float, bool, bool]] = []  # (time, first try ok, ok after one retry)
    answers: dict[str, int] = {}  # status code or error -> count, after the kill
    kill_at: list[float] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=suite.url, headers=suite.headers(), timeout=10) as http:
            for _ in range(2000):  # bounded; the test stops it after ~25 s
                if stop.is_set():
                    return
                ok = []
                for _attempt in range(2):
                    try:
                        answer = str(http.get("/api/v1/echo", params={"message": "hi"})
                                     .status_code)
                    except httpx.TransportError as error:
                        answer = type(error).__name__
                    ok.append(answer == "200")
                    if kill_at:
                        answers[answer] = answers.get(answer, 0) + 1
                    if ok[-1]:
                        break
                outcomes.append((time.monotonic(), ok[0], ok[-1]))
                time.sleep(0.05)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(5)
    kill_at.append(time.monotonic())
    assert suite.kill_node(victim)
    time.sleep(20)
    stop.set()
    for thread in threads:
        thread.join(30)
    after = [o for o in outcomes if o[0] >= kill_at[0]]
    first_failures = [o for o in after if not o[1]]
    failed = [o for o in after if not o[2]]
    recovery = (max(o[0] for o in first_failures) - kill_at[0]) if first_failures else 0.0
    print(f"\nHTTP through a node kill ({victim}: {replicas[victim]} replica(s), "
          f"{ingress.get(victim, 0)} of them Ingress; Ingress replicas per node {ingress}): "
          f"{len(outcomes)} requests, {len(after)} after the kill; failed at first try "
          f"{len(first_failures)}, after one retry {len(failed)}; last failure "
          f"{recovery:.1f} s after the kill; answers {answers}")
    assert len(after) > 50
    assert not failed, f"{len(failed)} requests failed after one retry"
    restart(suite, victim)


def test_batch_ocr_finishes_with_every_page_once_through_a_node_kill(
        suite: SuiteProcess, tmp_path: Path) -> None:
    src, out = make_pages(tmp_path, 16), tmp_path / "out"
    run = subprocess.Popen(
        [ARMILLARY, "ocr", "batch", str(src), str(out), "--strategy", "single",
         "--no-preprocess", "--no-progress"], env=suite.env, cwd=suite.root,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(list((out / "parts").glob("*/*.parquet"))) >= 3, 300,
                 "three pages done")
        workers = suite.actors_by_node("MapWorker")
        head = suite.head_ip()
        victims = [ip for ip in workers if ip != head]
        assert victims, workers
        assert suite.kill_node(victims[0])
        stdout, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr[-3000:]
    result = json.loads(stdout)
    rows = pq.read_table(out / "pages.parquet").to_pylist()
    keys = [(r["content_hash"], r["page"]) for r in rows]
    assert len(keys) == len(set(keys)) == 16, result
    assert not [r for r in rows if r["error"]], [r["error"] for r in rows if r["error"]]
    assert result["pages_total"] == 16 and result["error_count"] == 0
    print(f"\nbatch OCR through a kill of {victims[0]}: pages per node "
          f"{result['pages_by_node']}, {result['pages_per_s']} pages/s")
    restart(suite, victims[0])


MAX_EPOCHS = 12


@pytest.mark.timeout(1200)  # a Tune run of 2 x 12 epochs, a kill, the resume, a node restart
def test_tune_resumes_from_its_checkpoints_after_its_node_dies(
        suite: SuiteProcess, tmp_path: Path) -> None:
    storage = tmp_path / "tune"
    submitted = suite.cli("job", "submit", "--preset", "crypto-tune", "--",
                          "--data", str(tune_csv(tmp_path)), "--last-rows", "600",
                          "--num-samples", "2", "--max-epochs", str(MAX_EPOCHS),
                          "--grace-period", str(MAX_EPOCHS),
                          "--storage-path", str(storage), timeout_s=120)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().splitlines()[-1]
    head = suite.head_ip()
    # a trial still running on a worker node, with a checkpoint to resume from
    victim = wait_for(lambda: checkpointed_trial_node(storage, head, MAX_EPOCHS), 600,
                      "a running trial with a checkpoint on a worker node")
    assert suite.kill_node(victim)

    def finished() -> str:
        status = suite.cli("job", "status", job_id, timeout_s=60)
        state = json.loads(status.stdout)["status"] if status.returncode == 0 else ""
        return state if state in ("SUCCEEDED", "FAILED", "STOPPED") else ""

    state = wait_for(finished, 900, "the Tune job to end")
    logs = suite.cli("job", "logs", job_id, timeout_s=60).stdout
    assert state == "SUCCEEDED", logs[-3000:]
    reports = [json.loads(line) for path in storage.glob("crypto_tune/*/result.json")
               for line in path.read_text().splitlines() if line.strip()]
    resumed = [r for r in reports if r.get("resumed_from_epoch", 0) > 0]
    assert resumed, "no trial continued from a checkpoint"
    epochs = statistics.mean(r["epoch"] for r in resumed)
    print(f"\nTune through a kill of {victim}: {len(resumed)} report(s) after a resume "
          f"(from epoch {min(r['resumed_from_epoch'] for r in resumed)}, mean epoch "
          f"{epochs:.1f})")
    restart(suite, victim)
