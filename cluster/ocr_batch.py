"""`armillary ocr batch`: the batch OCR pipeline (`training.batch_ocr.run_batch`) with a job
row in the Database and the pages loaded into the Warehouse.

- The job row (kind ``ocr-batch``) is created when the run starts, its progress (pages
  done / total) updated while it runs (throttled) and published on the EventBus channel
  ``jobs.<id>``, and finished with the counts. A rerun on the same OUT after a kill or a
  failure continues the unfinished job row of that OUT instead of adding another.
- The Parquet pages are loaded into the Warehouse table ``ocr_pages`` keyed on
  ``(content hash, page)``: only missing keys are inserted, so a rerun never duplicates.

Stores: when the suite runs (`armillary up`, or ``ray_address`` is set) embedded stores are
held by the cluster's owner actors, so this connects to that cluster (exactly: by the address
and token `armillary up` recorded, see `training.ray_connect`) and reaches them through it;
otherwise it opens them in this process and runs on a new local Ray instance. The run itself
is synchronous in the main thread (Ctrl-C stops it cleanly); store calls go to an event loop
on a helper thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pyarrow.parquet as pq

from actors.ocr.options import OcrOptions
from config.settings import Settings
from deployments.ocr.warehouse import load_batch_pages
from storage.database.base import Database
from storage.eventbus.base import EventBus
from storage.records.jobs import Job, JobProgress, Jobs, JobStatus
from storage.records.ocr import BATCH_JOB
from storage.records.users import Users
from storage.stores import open_store
from storage.warehouse.base import Warehouse
from training.batch_ocr import BatchLockedError, BatchSummary, run_batch

log = logging.getLogger("armillary.ocr.batch")
T = TypeVar("T")
PROGRESS_EVERY_S = 0.5
MAX_ERRORS_IN_RESULT = 50


@dataclass
class BatchStores:
    database: Database
    warehouse: Warehouse
    eventbus: EventBus

    async def connect(self) -> None:
        for store in (self.database, self.warehouse, self.eventbus):
            await store.connect()
        await self.database.migrate()

    async def close(self) -> None:
        for store in (self.eventbus, self.warehouse, self.database):
            await store.close()


@dataclass(frozen=True)
class BatchRequest:
    src: Path
    out: Path
    options: OcrOptions
    concurrency: int = 2
    owner: str | None = None  # username; default the admin user
    table: str = "ocr_pages"
    progress_bar: bool | None = None  # None: when stderr is a terminal
    verbose: bool = False  # Ray's own logs

    def params(self) -> dict[str, Any]:
        return {"src": str(self.src), "out": str(self.out), "lang": self.options.lang,
                "psm": self.options.psm, "strategy": str(self.options.strategy),
                "text_layer": str(self.options.text_layer), "concurrency": self.concurrency,
                "table": self.table}


class LoopThread:
    """An event loop on a daemon thread; :meth:`run` waits for a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="ocr-batch-stores")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def cluster_running(settings: Settings) -> bool:
    """Is this instance's suite running (`armillary up` recorded its cluster), or an external
    cluster configured?"""
    from training.ray_connect import find

    return find(settings) is not None


def open_batch_stores(settings: Settings, *, via_ray: bool) -> BatchStores:
    def store(kind: Any) -> Any:
        return open_store(kind, settings.url(kind), via_ray=via_ray)

    return BatchStores(cast(Database, store("database")), cast(Warehouse, store("warehouse")),
                       cast(EventBus, store("eventbus")))


async def _owner_id(db: Database, username: str) -> str:
    user = await Users(db).by_name(username)
    return user.id if user is not None else f"cli:{username}"


async def _job_for(jobs: Jobs, owner: str, request: BatchRequest) -> tuple[Job, bool]:
    """The unfinished job of this OUT (resumed), else a new one; (job, resumed)."""
    for job in await jobs.list(BATCH_JOB, limit=500):
        if job.params.get("out") == str(request.out) and job.status is not JobStatus.SUCCEEDED:
            return job, True
    return await jobs.create(BATCH_JOB, owner, request.params()), False


def _read_pages(out: Path) -> list[dict[str, Any]]:
    path = out / "pages.parquet"
    return pq.read_table(path).to_pylist() if path.exists() else []


def run_ocr_batch(stores: BatchStores, request: BatchRequest, admin_username: str, *,
                  close: bool = True) -> dict[str, Any]:
    """Run one batch with its job row and Warehouse load; returns the job's result
    (``job_id`` included). Uses the initialised Ray (see :func:`batch_ray`). Raises what
    ``run_batch`` raises; the job row is then failed, except on ``BatchLockedError``, where
    a resumed row belongs to the run holding the lock."""
    loop = LoopThread()
    try:
        return _run(loop, stores, request, admin_username)
    finally:
        if close:
            loop.run(stores.close(), 30)
        loop.stop()


def _run(loop: LoopThread, stores: BatchStores, request: BatchRequest,
         admin: str) -> dict[str, Any]:
    loop.run(stores.connect())
    jobs = Jobs(stores.database)
    progress = JobProgress(jobs, stores.eventbus)
    owner = loop.run(_owner_id(stores.database, request.owner or admin))
    job, resumed = loop.run(_job_for(jobs, owner, request))
    last = [0.0]

    def on_progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S and done < total:
            return
        last[0] = now
        try:
            loop.run(progress.step(job.id, "ocr", done, total), timeout_s=30)
        except Exception:  # progress is best effort; raising would stop the batch
            log.warning("could not record progress of job %s", job.id, exc_info=True)

    try:
        summary = run_batch(request.src, request.out, options=request.options,
                            concurrency=request.concurrency, on_progress=on_progress,
                            progress_bar=request.progress_bar, verbose=request.verbose)
        loop.run(progress.step(job.id, "loading", summary.pages_total,
                               summary.pages_total))
        inserted = loop.run(load_batch_pages(stores.warehouse, request.table,
                                             _read_pages(request.out), job.id))
    except BatchLockedError:
        if not resumed:
            loop.run(progress.finish(job.id, error="another run holds the output folder"))
        raise
    except BaseException as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        loop.run(progress.finish(job.id, error=f"{type(exc).__name__}: {reason}"), 30)
        raise
    result = _result(summary, request, inserted, job.id, resumed)
    loop.run(progress.finish(job.id, result))
    return result


def _result(summary: BatchSummary, request: BatchRequest, inserted: int, job_id: str,
            resumed: bool) -> dict[str, Any]:
    data = summary.to_dict()
    errors = data.pop("errors")
    return {"job_id": job_id, "resumed": resumed, **data, "error_count": len(errors),
            "errors": errors[:MAX_ERRORS_IN_RESULT], "warehouse_table": request.table,
            "warehouse_rows_inserted": inserted}


@contextmanager
def batch_ray(settings: Settings, *, cluster: bool, verbose: bool = False) -> Iterator[None]:
    """Ray for a CLI run: the running suite's own cluster (``cluster``), else a new local
    instance (never someone else's cluster found on this machine). Shut down on exit."""
    import ray

    from training.ray_connect import connect

    connection = connect(settings, allow_local=not cluster, verbose=verbose)
    try:
        yield
    finally:
        if connection.kind != "existing" and ray.is_initialized():
            ray.shutdown()


def batch_command(settings: Settings, request: BatchRequest) -> dict[str, Any]:
    """`armillary ocr batch`: stores through the running cluster, or in this process."""
    cluster = cluster_running(settings)
    with batch_ray(settings, cluster=cluster, verbose=request.verbose):
        stores = open_batch_stores(settings, via_ray=cluster)
        return run_ocr_batch(stores, request, settings.admin_username)
