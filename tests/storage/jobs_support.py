"""Helpers of the job system tests (test_jobs_*.py): the shared stores, on the embedded
SQLite file + in-process bus and on PostgreSQL + Redis, and a job system per "process"."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storage.database.base import Database
from storage.errors import StoreUnavailableError
from storage.eventbus.base import EventBus
from storage.jobs import JobKind, JobSystem, KindPolicy
from storage.jobs.kinds import Handler
from storage.records.jobs import Job
from storage.registry import open_backend
from tests.conftest import postgres_url, redis_url
from tests.support import missing

KIND, QUEUE = "test.work", "test.work"
LEASE_S = 0.6


@dataclass
class Stores:
    database: Database
    eventbus: EventBus
    new_bus: Callable[[], EventBus]
    """Another EventBus as after a restart that lost every queued task (an empty one)."""


def _bus(kind: str) -> EventBus:
    if kind == "embedded":
        return open_backend("eventbus", "memory://jobs")  # type: ignore[return-value]
    return open_backend(  # type: ignore[return-value]
        "eventbus", f"{redis_url()}?prefix=jobs_{uuid.uuid4().hex[:10]}:")


@pytest.fixture(params=["embedded", "postgres-redis"])
async def job_stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "embedded":
        db = open_backend("database", f"sqlite:///{tmp_path}/jobs.db")
    else:
        sep = "&" if "?" in postgres_url() else "?"
        db = open_backend("database",
                          f"{postgres_url()}{sep}schema=jobs_{uuid.uuid4().hex[:10]}")
    bus = _bus(request.param)
    try:
        await db.connect()
        await bus.connect()
        await bus.ping()
    except StoreUnavailableError as exc:
        missing(f"{request.param} not reachable: {exc}")
    await db.migrate()  # type: ignore[attr-defined]
    buses = [bus]

    def new_bus() -> EventBus:
        buses.append(_bus(request.param))
        return buses[-1]

    yield Stores(db, bus, new_bus)  # type: ignore[arg-type]
    for opened in buses:
        await opened.close()
    if request.param != "embedded":
        await db.drop_schema()  # type: ignore[attr-defined]
    await db.close()


def kind(handler: Handler, **policy: Any) -> JobKind:
    values = {"lease_s": LEASE_S, **policy}
    return JobKind(KIND, QUEUE, handler, lambda: KindPolicy(**values), label="test")


def system(stores: Stores, handler: Handler, consumer: str, *, bus: EventBus | None = None,
           user_limit: int | None = None, **policy: Any) -> JobSystem:
    """The job system of one "process" that runs ``handler`` for the test kind."""
    return JobSystem(stores.database, bus or stores.eventbus, [kind(handler, **policy)],
                     consumer=consumer, poll_s=lambda: 0.05, reap_s=lambda: 3600.0,
                     user_limit=lambda: user_limit)


async def kill(jobs: JobSystem) -> None:
    """The process dies: its loop and deliveries stop, nothing is released or acked."""
    jobs.worker.stopped = True
    doomed = [*jobs.worker.active, *([jobs.worker._task] if jobs.worker._task else [])]
    for task in doomed:
        task.cancel()
    await asyncio.gather(*doomed, return_exceptions=True)


async def until(what: Callable[[], Any], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await _value(what()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _value(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value


async def ended(jobs: JobSystem, job_id: str, timeout_s: float = 20.0) -> Job:
    async def done() -> bool:
        job = await jobs.jobs.get(job_id)
        return job is not None and not job.active

    await until(done, timeout_s)
    job = await jobs.jobs.get(job_id)
    assert job is not None
    return job
