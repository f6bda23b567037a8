"""The reaper: jobs that a restart orphaned are failed or re-queued, with the reason.

Every worker reaps the kinds it handles when it starts and then periodically (a `Chore`
of its loop); reapers of several workers may run at once, and a job is changed by one of
them only (`Jobs.requeue` and `Jobs.fail_orphan` change it only as it was read).

- **Running, its lease long gone**: the job row says ``running`` but its lease ran out
  more than a lease ago. Its worker is gone (killed, or its node), and the queue did not
  give its task to another worker (the task was lost with an in-memory EventBus, or no
  worker took it): the job is re-queued (a new task; the job keeps its id, its attempts
  count on) with a notice that says why, or failed with the reason once it was taken
  ``max_attempts`` times.
- **Queued, its task lost**: fewer tasks are pending on the kind's queue than jobs of the
  kind are queued or running (an EventBus that restarted empty): the queued jobs (older than
  a grace period) get a task again. A job that still had its task gets a second one, which
  is harmless: a job is run by one delivery at a time and ends once
  (:mod:`storage.jobs.delivery`).
- Jobs queued or running since before the job system (no payload) cannot be run again: they
  are failed with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storage.eventbus.base import EventBus
from storage.jobs.kinds import JobKind
from storage.records.jobs import Job, JobProgress, Jobs, JobStatus

log = logging.getLogger("armillary.jobs")
QUEUED_GRACE_S = 30.0
"""A queued job younger than this may be between its row and its task: left alone."""


@dataclass(frozen=True)
class Reaped:
    job_id: str
    action: str
    """``requeued`` or ``failed``."""
    reason: str


def _at(epoch: float | None) -> str:
    if epoch is None:
        return "before the job system kept leases"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


class Reaper:
    def __init__(self, jobs: Jobs, progress: JobProgress, eventbus: EventBus,
                 kinds: Sequence[JobKind], clock: Callable[[], float] = time.time) -> None:
        self.jobs = jobs
        self.progress = progress
        self.eventbus = eventbus
        self.kinds = list(kinds)
        self.clock = clock

    async def reap(self) -> list[Reaped]:
        """One pass over every kind; what was done, with the reasons."""
        done: list[Reaped] = []
        for kind in self.kinds:
            done += await self._abandoned(kind)
            done += await self._lost(kind)
        for item in done:
            log.warning("job %s %s: %s", item.job_id, item.action, item.reason)
        return done

    async def _abandoned(self, kind: JobKind) -> list[Reaped]:
        """Running jobs whose lease ran out more than a lease ago."""
        policy = kind.policy()
        out = []
        for job in await self.jobs.stale(kind.name, JobStatus.RUNNING,
                                         self.clock() - policy.lease_s):
            reason = (f"the worker running it ({job.worker or 'unknown'}) stopped: its lease "
                      f"ran out ({_at(job.lease_until)}) and no worker took the job again")
            if job.payload is None:
                out += await self._fail(kind, job, f"orphaned by a restart: {reason}; it cannot "
                                             "be run again (submit it again)")
            elif job.attempts >= policy.max_attempts:
                out += await self._fail(kind, job, f"{kind.interrupted(job.attempts + 1)}; "
                                             f"last time {reason}")
            else:
                out += await self._requeue(kind, job, f"re-queued after attempt "
                                                      f"{job.attempts}: {reason}")
        return out

    async def _lost(self, kind: JobKind) -> list[Reaped]:
        """Queued jobs whose task the queue lost."""
        stale = await self.jobs.stale(kind.name, JobStatus.QUEUED,
                                      self.clock() - QUEUED_GRACE_S)
        if not stale:
            return []
        pending = await self.eventbus.pending(kind.queue)
        if pending >= await self.jobs.count_active(kind=kind.name):
            return []
        out = []
        for job in stale:
            if job.payload is None:
                out += await self._fail(kind, job, "orphaned by a restart: it was queued before "
                                             "the job system and its task is gone; submit "
                                             "it again")
            else:
                out += await self._requeue(kind, job, "re-queued: its task was lost from "
                                                      "the queue (the EventBus restarted)")
        return out

    async def _requeue(self, kind: JobKind, job: Job, reason: str) -> list[Reaped]:
        if not await self.jobs.requeue(job, reason):
            return []
        await self.eventbus.enqueue(kind.queue, {"job_id": job.id})
        await self.progress.notice(job.id, JobStatus.QUEUED.value, reason)
        return [Reaped(job.id, "requeued", reason)]

    async def _fail(self, kind: JobKind, job: Job, reason: str) -> list[Reaped]:
        if not await self.jobs.fail_orphan(job, reason):
            return []
        if kind.on_end is not None:  # the kind's cleanup, as at the end of a delivery
            try:
                await kind.on_end(job, None, reason)
            except Exception:
                log.exception("job %s: the cleanup of its kind failed", job.id)
        await self.progress.notice(job.id, JobStatus.FAILED.value, reason)
        return [Reaped(job.id, "failed", reason)]
