"""The one job worker loop: every process that runs jobs (each service's replicas) runs one
`JobWorker` over the kinds it handles. It claims tasks while its kinds have free slots,
runs each delivery (:mod:`storage.jobs.delivery`) under a heartbeat that renews the
task's lease on the queue and the job row's lease, runs its periodic chores (the reaper,
a service's own), and hands its tasks back when it stops.

- A worker that **stops** (`stop`: a replica's graceful shutdown) claims nothing more and
  releases the tasks it runs (``EventBus.release``) without waiting for their handlers:
  another worker claims them at once, as a further attempt.
- A worker that **dies** never acks: its heartbeat stops, the lease runs out and the task
  is delivered to another worker (the job row's lease says the same to the reaper).
- A worker whose renewal is refused (the queue delivered the task again, or the reaper
  re-queued the job: it was cut off for longer than the lease) stops that job at once,
  without writing anything more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from storage.eventbus.base import Task
from storage.jobs.delivery import DeliveryState, WorkerEnv, deliver, job_id_of
from storage.jobs.kinds import JobKind

log = logging.getLogger("armillary.jobs")
STOP_TIMEOUT_S = 10.0
"""How long `JobWorker.stop` waits, at most, for the jobs it cancels to unwind."""


@dataclass(frozen=True)
class Chore:
    """Periodic work of a worker loop: ``run`` every ``every_s()`` seconds (first at
    start); a failure is logged and retried at the next period."""

    name: str
    every_s: Callable[[], float]
    run: Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class _Delivery:
    """A task this worker runs, and the heartbeat that renews its lease."""

    task: Task
    beat: asyncio.Task[None]


class JobWorker:
    """Runs the jobs of ``kinds`` in this process; ``poll_s()``: how often an idle worker
    looks for a task (a submission in this process wakes it at once)."""

    def __init__(self, env: WorkerEnv, kinds: Sequence[JobKind],
                 poll_s: Callable[[], float], chores: Sequence[Chore] = ()) -> None:
        self.env = env
        self.kinds = {kind.name: kind for kind in kinds}
        self.poll_s = poll_s
        self.chores = list(chores)
        self._running: dict[str, set[asyncio.Task[None]]] = {k: set() for k in self.kinds}
        self._held: dict[asyncio.Task[Any], _Delivery] = {}
        self._next: dict[str, float] = {}
        self.stopped = False
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    @property
    def consumer(self) -> str:
        return self.env.consumer

    @property
    def active(self) -> set[asyncio.Task[None]]:
        """The deliveries running here now."""
        return set().union(*self._running.values())

    def start(self) -> bool:
        """Start the loop on the running event loop (idempotent); returns whether it runs
        (never again after `stop`)."""
        if self.stopped:
            return False
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._loop())
        return not self._task.done()

    def wake(self) -> None:
        """A task was queued: claim now rather than at the next poll (starts the loop)."""
        if self.start() and self._wake is not None:
            self._wake.set()

    async def _loop(self) -> None:
        assert self._wake is not None
        wake = self._wake
        while not self.stopped:
            wake.clear()
            await self._chores()
            try:
                if await self._claim_all():
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job worker iteration failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.poll_s())

    async def _chores(self) -> None:
        now = time.monotonic()
        for chore in self.chores:
            if now < self._next.get(chore.name, 0.0):
                continue
            self._next[chore.name] = now + chore.every_s()
            try:
                await chore.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job worker chore %s failed", chore.name)

    async def _claim_all(self) -> bool:
        """Claim tasks while the kinds have free slots; True when `stop` began meanwhile."""
        for kind in self.kinds.values():
            running = self._running[kind.name]
            while len(running) < kind.policy().slots:
                task = await self.env.eventbus.claim(kind.queue, self.consumer,
                                                     kind.policy().lease_s)
                if task is None:
                    break
                if self.stopped:  # claimed while `stop` began: not run here
                    await self.env.eventbus.release(task)
                    return True
                job = asyncio.get_running_loop().create_task(self._run_task(kind, task))
                running.add(job)
                job.add_done_callback(self._job_done)
        return False

    def _job_done(self, job: asyncio.Task[None]) -> None:
        for running in self._running.values():
            running.discard(job)
        if self._wake is not None:
            self._wake.set()  # a free slot: claim the next task now

    async def work_once(self, kind: str | None = None, consumer: str | None = None) -> bool:
        """Claim one task (of ``kind``, else of any kind of this worker) and run it to its
        end here (tests, tools); False when none was ready."""
        for candidate in ([self.kinds[kind]] if kind else self.kinds.values()):
            task = await self.env.eventbus.claim(candidate.queue, consumer or self.consumer,
                                                 candidate.policy().lease_s)
            if task is not None:
                await self._run_task(candidate, task)
                return True
        return False

    async def _run_task(self, kind: JobKind, task: Task) -> None:
        """Run one delivery under a heartbeat that renews its leases; stop when a lease is
        lost. While it runs, `stop` can hand it back (`_held`)."""
        me = asyncio.current_task()
        assert me is not None
        lost = False
        state = DeliveryState()

        async def heartbeat() -> None:
            nonlocal lost
            lease = kind.policy().lease_s
            while True:
                await asyncio.sleep(lease / 3)
                try:
                    held = await self._renew(task, lease)
                except Exception:
                    log.exception("%s task %s: renewing the lease failed", kind.name, task.id)
                    continue
                if not held:
                    if not state.ending:  # (refused once the job ended: no loss)
                        lost = True
                        me.cancel()
                    return

        beat = asyncio.get_running_loop().create_task(heartbeat())
        self._held[me] = _Delivery(task, beat)
        try:
            await deliver(self.env, kind, task, state)
        except asyncio.CancelledError:
            if not lost:
                raise
            log.warning("%s task %s: lease lost to another delivery, stopped", kind.name,
                        task.id)
        except Exception:
            # Not acked: the task comes back after the lease (stores unreachable, ...).
            log.exception("%s task %s failed (attempt %d)", kind.name, task.id, task.attempts)
        finally:
            self._held.pop(me, None)
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _renew(self, task: Task, lease_s: float) -> bool:
        """Both leases of a delivery: the queue's, then the job row's."""
        if not await self.env.eventbus.extend(task, lease_s):
            return False
        job_id = job_id_of(task)
        return not job_id or await self.env.jobs.renew(job_id, task.id, lease_s)

    async def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop this worker within about ``timeout_s`` (idempotent; the loop never starts
        again): no task is claimed any more; every job running here is cancelled, its
        heartbeat stopped and its task released, so that another worker claims it at once;
        the jobs get the rest of ``timeout_s`` to unwind. A task that cannot be released
        in time (stores unreachable) comes back after its lease, as when a worker dies."""
        self.stopped = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if self._task is not None:  # let a claim in flight end (and give it back)
            if self._wake is not None:
                self._wake.set()
            await asyncio.wait([self._task], timeout=timeout_s / 2)
            self._task.cancel()
        await asyncio.sleep(0)  # jobs the loop just started register their delivery
        held = list(self._held.items())
        jobs = [*self.active, *(job for job, _ in held)]
        for job in jobs:
            job.cancel()
        # Hand the tasks back now, not once each job has unwound (its cleanup can wait
        # for a thread that is busy with long work).
        if held:
            await asyncio.wait([asyncio.create_task(self._hand_back(d)) for _, d in held],
                               timeout=max(0.01, deadline - loop.time()))
        if jobs:
            await asyncio.wait(jobs, timeout=max(0.01, deadline - loop.time()))

    async def _hand_back(self, delivery: _Delivery) -> None:
        delivery.beat.cancel()
        await asyncio.wait([delivery.beat])  # no renewal after the release
        task = delivery.task
        try:
            released = await self.env.eventbus.release(task)
        except Exception:
            log.exception("task %s: could not hand it back; delivered again after its "
                          "lease", task.id)
            return
        if released:
            log.info("task %s handed back to the queue (attempt %d)", task.id, task.attempts)
