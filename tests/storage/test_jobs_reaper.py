"""The reaper and the limits of the job system (:mod:`storage.jobs`), on the embedded
stores and on PostgreSQL + Redis:

- A job left running by a worker that died, whose task the EventBus lost (it restarted
  empty), is re-queued with the reason and then run; once it used its attempts it is
  failed with the reason instead; a job from before the job system is failed.
- A queued job whose task was lost is queued again; one with its task is left alone.
- A worker whose job the reaper took away stops working on it.
- Submissions over a limit are refused with a message, and leave no job behind.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from storage.jobs import JobLimitError, JobRun
from storage.records.jobs import JobStatus, job_channel
from tests.storage.jobs_support import (
    KIND,
    QUEUE,
    Stores,
    ended,
    job_stores,
    kill,
    system,
    until,
)

__all__ = ["job_stores"]


def later(seconds: float) -> Any:
    return lambda: time.time() + seconds


async def test_orphan_of_a_restart_is_requeued_with_its_reason(job_stores: Stores) -> None:
    runs: list[tuple[str, int]] = []

    async def hangs(run: JobRun) -> dict[str, Any]:
        runs.append(("old", run.attempts))
        await asyncio.Event().wait()
        return {}

    async def works(run: JobRun) -> dict[str, Any]:
        runs.append(("new", run.attempts))
        return {"ok": True}

    old = system(job_stores, hangs, "worker-before-restart")
    job = await old.submit(KIND, "ann", {}, {})
    await until(lambda: runs == [("old", 1)])
    await kill(old)
    # the suite restarts: its EventBus comes back empty, the Database keeps the rows
    bus = job_stores.new_bus()
    new = system(job_stores, works, "worker-after-restart", bus=bus)
    assert await new.reaper.reap() == []  # the lease has not run out for long enough
    new.reaper.clock = later(60)
    [reaped] = await new.reaper.reap()
    assert reaped.job_id == job.id and reaped.action == "requeued"
    assert "worker-before-restart" in reaped.reason and "lease ran out" in reaped.reason
    row = await new.jobs.get(job.id)
    assert row is not None and row.status is JobStatus.QUEUED
    assert row.notice == reaped.reason and row.notice.startswith("re-queued after attempt 1")
    assert await bus.pending(QUEUE) == 1
    if hasattr(bus, "read_after"):  # the embedded bus keeps the channel's log
        events, _ = await bus.read_after(job_channel(job.id), 0, 0.1)
        assert events[-1]["status"] == "queued" and events[-1]["notice"] == reaped.reason
    new.worker.start()
    done = await ended(new, job.id)
    assert done.status is JobStatus.SUCCEEDED and done.attempts == 2
    assert runs == [("old", 1), ("new", 2)]
    await new.worker.stop()


async def test_orphans_are_failed_with_their_reason(job_stores: Stores) -> None:
    async def never(run: JobRun) -> dict[str, Any]:
        raise AssertionError("an orphan that is failed is not run")

    jobs = system(job_stores, never, "reaper", max_attempts=2)
    # taken twice by workers that died
    spent = await jobs.jobs.create(KIND, "ann", {}, {})
    for attempt in ("t1", "t2"):
        taken = await jobs.jobs.take(spent.id, attempt, f"dead-{attempt}", 0.05)
        assert taken is not None
        await asyncio.sleep(0.1)
    # left running by code from before the job system (no payload, no lease)
    legacy = await jobs.jobs.create(KIND, "ann", {})
    await jobs.jobs.progress(legacy.id, 3, 10)
    # queued, and its task lost with the EventBus
    lost = await jobs.jobs.create(KIND, "ann", {}, {"n": 1})
    jobs.reaper.clock = later(60)
    reaped = {r.job_id: r for r in await jobs.reaper.reap()}
    assert {j: r.action for j, r in reaped.items()} == {
        spent.id: "failed", legacy.id: "failed", lost.id: "requeued"}
    row = await jobs.jobs.get(spent.id)
    assert row is not None and row.status is JobStatus.FAILED
    assert row.error is not None and row.error.startswith("test was interrupted 2 times")
    assert "dead-t2" in row.error
    row = await jobs.jobs.get(legacy.id)
    assert row is not None and row.status is JobStatus.FAILED
    assert row.error is not None and row.error.startswith("orphaned by a restart")
    row = await jobs.jobs.get(lost.id)
    assert row is not None and row.notice is not None and "task was lost" in row.notice
    assert await job_stores.eventbus.pending(QUEUE) == 1
    assert await jobs.reaper.reap() == []  # its task is back: nothing more to do


async def test_worker_whose_job_was_reaped_stops(job_stores: Stores) -> None:
    """A worker cut off for longer than the lease (its renewals did not happen) finds the
    job re-queued by the reaper when it comes back, and stops that delivery; the job runs
    again from its new task."""
    runs: list[int] = []
    cancelled: list[int] = []

    async def slow(run: JobRun) -> dict[str, Any]:
        runs.append(run.attempts)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(run.attempts)
            raise
        return {}

    jobs = system(job_stores, slow, "worker")
    job = await jobs.submit(KIND, "ann", {}, {})
    await until(lambda: runs == [1])
    first = await jobs.jobs.get(job.id)
    reaper = system(job_stores, slow, "reaper")
    reaper.reaper.clock = later(60)
    [reaped] = await reaper.reaper.reap()
    assert reaped.action == "requeued"
    await until(lambda: cancelled == [1])  # the next renewal was refused
    await until(lambda: runs == [1, 2])  # the re-queued job, taken again
    row = await jobs.jobs.get(job.id)
    assert row is not None and first is not None
    assert row.status is JobStatus.RUNNING and row.attempts == 2
    assert row.task_id != first.task_id
    await jobs.worker.stop()


async def test_limits_refuse_with_a_message_and_leave_no_job(job_stores: Stores) -> None:
    async def handler(run: JobRun) -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    jobs = system(job_stores, handler, "worker", user_limit=2, max_active_per_user=5)
    first = await jobs.create(KIND, "ann", {}, {})
    await jobs.create(KIND, "ann", {}, {})
    with pytest.raises(JobLimitError, match=r"too many jobs: you have 2 jobs queued or "
                                            r"running \(at most 2 per user\); wait"):
        await jobs.create(KIND, "ann", {}, {})
    assert await jobs.jobs.count_active(owner="ann") == 2
    await jobs.create(KIND, "bob", {}, {})  # another user's own limit
    await jobs.progress.finish(first.id, {"done": True})
    await jobs.create(KIND, "ann", {}, {})  # one ended: room again

    per_kind = system(job_stores, handler, "worker-2", max_active_per_user=1, max_active=4)
    with pytest.raises(JobLimitError, match=r"you have 1 test job\(s\) queued or running "
                                            r"\(at most 1 per user\)"):
        await per_kind.create(KIND, "bob", {}, {})
    await per_kind.create(KIND, "cyd", {}, {})
    with pytest.raises(JobLimitError, match=r"4 test jobs are queued or running \(at most 4 "
                                            r"at a time\)"):
        await per_kind.create(KIND, "dee", {}, {})
    await per_kind.create(KIND, "dee", {}, {}, limited=False)  # the suite's own work
    assert await jobs.jobs.count_active() == 5
