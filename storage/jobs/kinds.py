"""Job kinds: what a kind of job is (its queue, its handler, its policy) and what a
handler is given (`JobRun`).

A handler is ``async def handler(run: JobRun) -> dict | None``: it does the work of one
delivery of a job and returns the job's result. It raises `JobFailed` (or an error its
kind's ``final`` names) for a failure that another attempt would not fix; any other error
is retried on a later delivery, up to the policy's ``max_attempts``. Deliveries are at
least once, so a handler is written to be run again: it checks what an earlier delivery
finished (the job's payload names it) before doing it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from storage.eventbus.base import Task
from storage.jobs.errors import JobFailed
from storage.records.jobs import Job, JobProgress


@dataclass(frozen=True)
class KindPolicy:
    """How a kind of job is run and limited, read when used (settings may change).

    ``lease_s``: a delivery's lease, renewed every third of it while it runs: a job whose
    worker died is delivered again this long after. ``max_attempts``: deliveries before
    the job fails. ``slots``: jobs of the kind one worker runs at the same time.
    ``max_active`` / ``max_active_per_user``: jobs of the kind queued or running at once
    (all users / one user; None: no limit of the kind's own)."""

    lease_s: float = 60.0
    max_attempts: int = 3
    slots: int = 1
    max_active: int | None = None
    max_active_per_user: int | None = None


@dataclass
class JobRun:
    """One delivery of a job, as its handler sees it."""

    job: Job
    """The job row as this delivery took it (``attempts`` counts this one)."""
    task: Task
    progress: JobProgress
    total: int | None = None
    """The last total reported through `step`."""

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def attempts(self) -> int:
        return self.job.attempts

    @property
    def payload(self) -> dict[str, Any]:
        """What the handler works from (the row's payload; tasks queued before the job
        system carried it themselves)."""
        return self.job.payload if self.job.payload is not None else dict(self.task.payload)

    async def step(self, stage: str, done: int, total: int | None = None) -> None:
        """Progress: the job row and an event on the job's channel."""
        self.total = total
        await self.progress.step(self.job.id, stage, done, total)


Result = dict[str, Any] | None
Handler = Callable[[JobRun], Awaitable[Result]]
EndHook = Callable[[Job, Result, "str | None"], Awaitable[None]]
"""``await on_end(job, result, error)``: before the job row ends, by its last delivery or
by the reaper (cleanup the kind owns)."""


def no_final(exc: BaseException) -> str | None:
    return None


@dataclass(frozen=True)
class JobKind:
    name: str
    """The jobs' ``kind`` in their rows."""
    queue: str
    """The EventBus queue their tasks go through."""
    handler: Handler
    policy: Callable[[], KindPolicy] = KindPolicy
    label: str = ""
    """What the job is called in failure messages (default: ``name``)."""
    final: Callable[[BaseException], str | None] = field(default=no_final)
    """The failure message of an error that fails the job at once (besides `JobFailed`),
    None for one that is retried."""
    on_end: EndHook | None = None

    @property
    def title(self) -> str:
        return self.label or self.name

    def final_message(self, exc: BaseException) -> str | None:
        if isinstance(exc, JobFailed):
            return str(exc)
        return self.final(exc)

    def interrupted(self, attempts: int) -> str:
        return (f"{self.title} was interrupted {attempts - 1} times (the worker running it "
                "stopped each time); giving up")


def failure_message(exc: BaseException) -> str:
    """An unexpected error as a job's error: its type and message."""
    return f"{type(exc).__name__}: {exc}"
