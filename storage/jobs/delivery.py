"""One delivery of a job's task: what every worker does with a task it claimed.

1. **Take** the job row for this delivery (`Jobs.take`): it is marked running, held by this
   delivery until its lease (renewed with the queue's by the worker's heartbeat), and the
   attempt is counted. A task whose job ended, or is held by another live delivery (a
   duplicate the reaper queued), or that names no job, is acked and dropped: a job ends
   once.
2. A job taken more than its policy's ``max_attempts`` times (its workers kept dying on
   it) fails with a message that says so (`JobKind.interrupted`).
3. Otherwise its kind's handler runs. Its result ends the job (succeeded); `JobFailed`, or
   an error its kind calls final, ends it failed with the message; any other error leaves
   the task unacked, so that it is delivered again after the lease, unless this was the
   last attempt (then the job fails with the error). While the worker stops, an error is
   no failure of the job: the task is handed back instead.
4. The end: the kind's ``on_end`` hook (cleanup it owns), the job row and its last event
   (`JobProgress.finish`), then the ack. A worker that dies between the two is harmless:
   the redelivery finds the job ended and drops the task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from storage.eventbus.base import EventBus, Task
from storage.jobs.kinds import JobKind, JobRun, KindPolicy, Result, failure_message
from storage.records.jobs import JobProgress, Jobs

log = logging.getLogger("armillary.jobs")


@dataclass(frozen=True)
class WorkerEnv:
    """What a delivery needs from its worker."""

    jobs: Jobs
    progress: JobProgress
    eventbus: EventBus
    consumer: str
    stopping: Callable[[], bool]


@dataclass
class DeliveryState:
    ending: bool = False
    """The job is being ended: a lease refused from now on is no loss (the row ended)."""


def job_id_of(task: Task) -> str:
    return str(task.payload.get("job_id") or "")


async def deliver(env: WorkerEnv, kind: JobKind, task: Task,
                  state: DeliveryState | None = None) -> None:
    """Run one delivery of ``task`` to its end; an error it raises leaves the task unacked
    (delivered again after the lease)."""
    state = state or DeliveryState()
    policy = kind.policy()
    job_id = job_id_of(task)
    job = await env.jobs.take(job_id, task.id, env.consumer, policy.lease_s) \
        if job_id else None
    if job is None:
        log.info("%s task %s: job %r ended or is held by another delivery; dropped",
                 kind.name, task.id, job_id)
        await env.eventbus.ack(task)
        return
    run = JobRun(job, task, env.progress)
    if job.attempts > policy.max_attempts:
        state.ending = True
        await end(kind, run, error=kind.interrupted(job.attempts))
    else:
        await _handle(env, kind, run, policy, state)
    await env.eventbus.ack(task)


async def _handle(env: WorkerEnv, kind: JobKind, run: JobRun, policy: KindPolicy,
                  state: DeliveryState) -> None:
    """The handler's outcome: the job's end, or an error raised to retry it."""
    try:
        result = await kind.handler(run)
    except Exception as exc:
        if env.stopping():
            # Cancelled by the worker's stop and failing in its cleanup: the task is
            # handed back; nothing more is written here.
            raise asyncio.CancelledError from exc
        message = kind.final_message(exc)
        if message is not None:
            state.ending = True
            await end(kind, run, error=message)
        elif run.attempts < policy.max_attempts:
            log.warning("%s job %s: attempt %d failed (%s); delivered again after the lease",
                        kind.name, run.id, run.attempts, failure_message(exc))
            await run.step("retrying", 0, run.total)
            raise
        else:
            log.exception("%s job %s failed", kind.name, run.id)
            state.ending = True
            await end(kind, run, error=f"{kind.title} failed after {run.attempts} attempts: "
                                       f"{failure_message(exc)}")
    else:
        state.ending = True
        await end(kind, run, result=result)


async def end(kind: JobKind, run: JobRun, result: Result = None,
              error: str | None = None) -> None:
    """The job's final state: the kind's cleanup, then the row and its last event."""
    if kind.on_end is not None:
        await kind.on_end(run.job, result, error)
    await run.progress.finish(run.id, result, error)
