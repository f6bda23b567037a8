"""Submitting a job: limits on queued and running jobs, the row, the task.

The caller validates the request first (bad input is a 4xx before anything is stored);
`JobSubmitter.create` then checks the limits (a `JobLimitError`, HTTP 429, with a message
that says which limit and what to do) and creates the row, and `enqueue` queues its task.
The limits are counted with the new row in (it is deleted again when over), so two
submissions at the same time cannot both slip under one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from storage.eventbus.base import EventBus
from storage.jobs.errors import JobLimitError
from storage.jobs.kinds import JobKind, failure_message
from storage.records.jobs import Job, JobProgress, Jobs

WAIT = "wait until one of them ends (GET /api/v1/jobs/{id}), then submit again"


class JobSubmitter:
    """``user_limit()``: jobs of every kind one user may have queued or running (None: no
    limit); the kinds' own limits are in their policies."""

    def __init__(self, jobs: Jobs, progress: JobProgress, eventbus: EventBus,
                 kinds: Mapping[str, JobKind], user_limit: Callable[[], int | None]) -> None:
        self.jobs = jobs
        self.progress = progress
        self.eventbus = eventbus
        self.kinds = kinds
        self.user_limit = user_limit

    async def create(self, kind: str, owner: str, params: dict[str, Any],
                     payload: dict[str, Any] | None = None, *, limited: bool = True) -> Job:
        """The job's row (queued), within the limits unless not ``limited`` (work the
        suite starts itself: schedules, bootstrap)."""
        job = await self.jobs.create(kind, owner, params, payload or {})
        if limited:
            try:
                await self._check(self.kinds[kind], owner)
            except JobLimitError:
                await self.jobs.delete(job.id)
                raise
        return job

    async def _check(self, kind: JobKind, owner: str) -> None:
        policy = kind.policy()
        mine = await self.jobs.count_active(owner=owner)
        user_limit = self.user_limit()
        if user_limit is not None and mine > user_limit:
            raise JobLimitError(f"too many jobs: you have {mine - 1} jobs queued or running "
                                f"(at most {user_limit} per user); {WAIT}")
        if policy.max_active_per_user is not None:
            same = await self.jobs.count_active(owner=owner, kind=kind.name)
            if same > policy.max_active_per_user:
                raise JobLimitError(
                    f"you have {same - 1} {kind.title} job(s) queued or running (at most "
                    f"{policy.max_active_per_user} per user); {WAIT}")
        if policy.max_active is not None:
            everyone = await self.jobs.count_active(kind=kind.name)
            if everyone > policy.max_active:
                raise JobLimitError(
                    f"{everyone - 1} {kind.title} jobs are queued or running (at most "
                    f"{policy.max_active} at a time); try again when one has ended")

    async def enqueue(self, job: Job) -> None:
        """Queue the job's task; if that fails, the job is failed with the reason and the
        error raised."""
        try:
            await self.eventbus.enqueue(self.kinds[job.kind].queue, {"job_id": job.id})
        except Exception as exc:
            with contextlib.suppress(Exception):  # else the reaper queues it later
                await self.progress.finish(
                    job.id, error=f"the job could not be queued: {failure_message(exc)}")
            raise
