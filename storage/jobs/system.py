"""`JobSystem`: the job system of one process (a service's replica, a tool), over the shared
Database (job rows) and EventBus (one task queue per kind): submission with limits, the
one worker loop over the kinds it handles, and the reaper as one of the loop's chores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from storage.database.base import Database
from storage.eventbus.base import EventBus
from storage.jobs.delivery import WorkerEnv
from storage.jobs.kinds import JobKind
from storage.jobs.reaper import Reaper
from storage.jobs.submit import JobSubmitter
from storage.jobs.worker import Chore, JobWorker
from storage.records.jobs import Job, JobProgress, Jobs


class JobSystem:
    """``kinds``: the kinds this process submits and runs; ``consumer``: this worker's
    name on the queues; ``poll_s()``: how often an idle worker looks for tasks;
    ``reap_s()``: how often it reaps; ``user_limit()``: jobs one user may have queued or
    running (None: no limit); ``chores``: more periodic work for the loop."""

    def __init__(self, database: Database, eventbus: EventBus, kinds: Sequence[JobKind], *,
                 consumer: str, poll_s: Callable[[], float], reap_s: Callable[[], float],
                 user_limit: Callable[[], int | None], chores: Sequence[Chore] = ()) -> None:
        self.jobs = Jobs(database)
        self.progress = JobProgress(self.jobs, eventbus)
        self.kinds = {kind.name: kind for kind in kinds}
        self.reaper = Reaper(self.jobs, self.progress, eventbus, kinds)
        self.submitter = JobSubmitter(self.jobs, self.progress, eventbus, self.kinds,
                                      user_limit)
        env = WorkerEnv(self.jobs, self.progress, eventbus, consumer,
                        lambda: self.worker.stopped)
        self.worker = JobWorker(env, kinds, poll_s,
                                [Chore("reaper", reap_s, self.reaper.reap), *chores])

    async def create(self, kind: str, owner: str, params: dict[str, Any],
                     payload: dict[str, Any] | None = None, *, limited: bool = True) -> Job:
        """The job's row, within the limits (`JobLimitError` otherwise); `enqueue` it once
        what its handler needs is stored."""
        return await self.submitter.create(kind, owner, params, payload, limited=limited)

    async def enqueue(self, job: Job, *, wake: bool = True) -> None:
        """Queue the job's task and wake this process's worker (which starts it; not
        from the worker's own chores, after which it claims anyway)."""
        await self.submitter.enqueue(job)
        if wake:
            self.worker.wake()

    async def submit(self, kind: str, owner: str, params: dict[str, Any],
                     payload: dict[str, Any] | None = None, *, limited: bool = True) -> Job:
        """`create` and `enqueue` in one (a job whose payload is all its handler needs)."""
        job = await self.create(kind, owner, params, payload, limited=limited)
        await self.enqueue(job)
        return job
