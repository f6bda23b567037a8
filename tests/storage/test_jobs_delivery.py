"""The job system's deliveries (:mod:`storage.jobs`), on the embedded stores and on
PostgreSQL + Redis, with two "processes" (job systems) on the same stores:

- A job whose worker dies (no release, no ack, no heartbeat) is delivered again after
  the lease, to another worker, which completes it as its second attempt.
- A second task for a job that a live worker holds (a duplicate) is dropped: the job
  runs once.
- An unexpected error is retried on the next delivery, up to the attempts; a `JobFailed`
  fails the job at once with its message.
"""

from __future__ import annotations

import asyncio
from typing import Any

from storage.jobs import JobFailed, JobRun
from tests.storage.jobs_support import (
    KIND,
    LEASE_S,
    QUEUE,
    Stores,
    ended,
    job_stores,
    kill,
    system,
    until,
)

__all__ = ["job_stores"]


async def test_job_is_delivered_again_after_its_worker_dies(job_stores: Stores) -> None:
    runs: list[tuple[str, int]] = []

    async def hangs(run: JobRun) -> dict[str, Any]:
        runs.append(("a", run.attempts))
        await run.step("working", 1, 2)
        await asyncio.Event().wait()
        return {}

    async def works(run: JobRun) -> dict[str, Any]:
        runs.append(("b", run.attempts))
        return {"n": run.payload["n"] * 2}

    a = system(job_stores, hangs, "worker-a")
    b = system(job_stores, works, "worker-b")
    job = await a.submit(KIND, "ann", {"n": 21}, {"n": 21})
    await until(lambda: runs == [("a", 1)])
    taken = await a.jobs.get(job.id)
    assert taken is not None and taken.worker == "worker-a" and taken.done == 1
    await kill(a)
    assert not await b.worker.work_once()  # A's lease still runs: nothing to claim
    assert (await b.jobs.get(job.id)).status.value == "running"  # type: ignore[union-attr]

    b.worker.start()
    done = await ended(b, job.id, timeout_s=10 * LEASE_S)
    assert done.status.value == "succeeded" and done.result == {"n": 42}
    assert runs == [("a", 1), ("b", 2)] and done.attempts == 2
    assert done.worker == "worker-b" and done.lease_until is None
    assert await job_stores.eventbus.pending(QUEUE) == 0
    await b.worker.stop()


async def test_duplicate_task_of_a_held_job_is_dropped(job_stores: Stores) -> None:
    release = asyncio.Event()
    runs: list[str] = []

    async def handler(run: JobRun) -> dict[str, Any]:
        runs.append(run.task.id)
        await release.wait()
        return {"ok": True}

    a = system(job_stores, handler, "worker-a")
    b = system(job_stores, handler, "worker-b")
    job = await a.submit(KIND, "ann", {}, {})
    await until(lambda: len(runs) == 1)
    await job_stores.eventbus.enqueue(QUEUE, {"job_id": job.id})  # a second task
    assert await b.worker.work_once()  # claimed, found held by A's delivery: dropped
    assert len(runs) == 1
    release.set()
    done = await ended(a, job.id)
    assert done.status.value == "succeeded" and done.attempts == 1
    await until(_none_pending(job_stores), 5)
    await a.worker.stop()


def _none_pending(stores: Stores) -> Any:
    async def check() -> bool:
        return await stores.eventbus.pending(QUEUE) == 0

    return check


async def test_errors_are_retried_then_fail_the_job(job_stores: Stores) -> None:
    attempts: list[int] = []

    async def flaky(run: JobRun) -> dict[str, Any]:
        attempts.append(run.attempts)
        raise RuntimeError("store unreachable")

    jobs = system(job_stores, flaky, "worker", max_attempts=2)
    job = await jobs.submit(KIND, "ann", {}, {})
    failed = await ended(jobs, job.id, timeout_s=10 * LEASE_S)
    assert attempts == [1, 2]  # delivered again after the lease, then given up
    assert failed.status.value == "failed"
    assert failed.error == "test failed after 2 attempts: RuntimeError: store unreachable"

    async def refuses(run: JobRun) -> dict[str, Any]:
        attempts.append(run.attempts)
        raise JobFailed("the input names no table")

    other = system(job_stores, refuses, "worker-2")
    job = await other.submit(KIND, "ann", {}, {})
    failed = await ended(other, job.id)
    assert failed.status.value == "failed" and failed.error == "the input names no table"
    assert failed.attempts == 1 and attempts[-1] == 1
    await jobs.worker.stop()
    await other.worker.stop()
