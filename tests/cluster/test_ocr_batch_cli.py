"""`armillary ocr batch`: the job row and the Warehouse table ``ocr_pages`` hold every
(content hash, page) exactly once across a killed run and its reruns; the CLI end to end
in a fresh process (stores opened in-process, local Ray), killed and rerun."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from actors.ocr import OcrOptions, PreprocessOptions, Strategy
from actors.ocr.batch import PartStore, process_file
from cluster.ocr_batch import BatchRequest, BatchStores, run_ocr_batch
from deployments.ocr.warehouse import load_batch_pages
from storage.records.jobs import Jobs
from storage.records.ocr import BATCH_JOB
from storage.registry import open_backend
from storage.warehouse.base import Warehouse
from tests.deployments.ocr_support import png_page
from tests.support import REPO_ROOT

FAST = OcrOptions(strategy=Strategy.SINGLE, preprocess=PreprocessOptions.none())


def make_source(root: Path, n: int) -> Path:
    src = root / "src"
    src.mkdir()
    for i in range(n):
        (src / f"page{i}.png").write_bytes(png_page([f"Batch page number {i}"]))
    (src / "broken.pdf").write_bytes(b"%PDF-1.4 not a real pdf")
    return src


def counts(wh: Warehouse, table: str) -> tuple[int, int]:
    result = asyncio.run(wh.query(
        f"SELECT count(), uniqExact(content_hash, page) FROM {table}"))
    return int(result.rows[0][0]), int(result.rows[0][1])


def test_rerun_after_a_kill_keeps_every_page_once(tmp_path: Path, chdb_warehouse: Any) -> None:
    src = make_source(tmp_path, 3)
    out = (tmp_path / "out").resolve()
    table = f"ocr_pages_{uuid.uuid4().hex[:8]}"
    # a killed run: every page OCRed (part files), the job row still running, and half of
    # the pages loaded into the Warehouse before the kill
    store = PartStore(out)
    for path in sorted(src.iterdir()):
        list(process_file(path.name, path.read_bytes(), FAST, store))
    rows = store.read_all().to_pylist()
    assert len(rows) == 4
    asyncio.run(load_batch_pages(chdb_warehouse, table, rows[:2], "killed"))
    db_path = tmp_path / "db.sqlite"
    request = BatchRequest(src.resolve(), out, FAST, table=table, progress_bar=False)

    def stores() -> BatchStores:
        return BatchStores(open_backend("database", f"sqlite:///{db_path}"), chdb_warehouse,
                           open_backend("eventbus", "memory://batch"))

    async def killed_job() -> str:
        s = stores()
        await s.database.connect()
        await s.database.migrate()
        job = await Jobs(s.database).create(BATCH_JOB, "someone", request.params())
        await Jobs(s.database).progress(job.id, 1, 4)
        await s.database.close()
        return job.id

    killed = asyncio.run(killed_job())
    result = run_ocr_batch(stores(), request, "admin", close=False)
    assert result["job_id"] == killed and result["resumed"]
    assert result["pages_skipped"] == 4 and result["pages_done"] == 0
    assert result["warehouse_rows_inserted"] == 2 and counts(chdb_warehouse, table) == (4, 4)
    assert result["error_count"] == 1 and "broken.pdf" in result["errors"][0]

    again = run_ocr_batch(stores(), request, "admin", close=False)
    assert again["job_id"] != killed and not again["resumed"]
    assert again["warehouse_rows_inserted"] == 0 and counts(chdb_warehouse, table) == (4, 4)

    with sqlite3.connect(db_path) as db:
        jobs = db.execute("SELECT id, status, done, total, result FROM jobs WHERE kind = ?"
                          " ORDER BY created_at", (BATCH_JOB,)).fetchall()
    assert [(j[0], j[1], j[2], j[3]) for j in jobs] == [
        (killed, "succeeded", 4, 4), (again["job_id"], "succeeded", 4, 4)]
    assert json.loads(jobs[0][4])["warehouse_rows_inserted"] == 2


@pytest.mark.ray
@pytest.mark.slow
def test_cli_killed_and_rerun_in_a_fresh_process(tmp_path: Path) -> None:
    src = make_source(tmp_path, 6)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_THREAD_LIMIT="1",
               ARMILLARY_ENVIRONMENT="test", ARMILLARY_DATA_DIR=str(tmp_path / "data"),
               ARMILLARY_RAY_NUM_CPUS="2")
    env.pop("ARMILLARY_RAY_ADDRESS", None)
    cmd = [sys.executable, "-m", "cluster.cli", "ocr", "batch", str(src), str(out),
           "--strategy", "single", "--no-preprocess", "--no-progress", "--concurrency", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "parts").glob("*/*.parquet"))) >= 2:
                break
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = len(list((out / "parts").glob("*/*.parquet")))
    assert 2 <= done_before < 7, "the run finished or never started before the kill"

    rerun = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    result = json.loads(rerun.stdout)
    assert result["resumed"] and result["pages_skipped"] >= done_before
    assert result["rows_in_output"] == 7 and result["warehouse_rows_inserted"] == 7
    with sqlite3.connect(tmp_path / "data" / "armillary.db") as db:
        jobs = db.execute("SELECT id, status, done, total FROM jobs WHERE kind = ?",
                          (BATCH_JOB,)).fetchall()
    assert jobs == [(result["job_id"], "succeeded", 7, 7)]
