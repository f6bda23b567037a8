"""Heavy job work (training) off the worker's process: a `TaskRunner` runs a plain function
in another process and awaits its result, so that the event loop of the worker (a Serve
replica) only waits, and the work never runs in the replica's process.

- :class:`storage.jobs.ray_tasks.RayTasks`: each call is a Ray task with the suite's batch
  resources (:func:`config.workloads.batch_options`), niced: what the replicas use.
- :class:`ProcessTasks`: a child process of this one (spawned, niced): the same contract
  where no Ray runs (the bare FastAPI app, tests).

Functions and arguments cross a process boundary: they must be picklable (module-level
functions of the project, plain data).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from config.workloads import lower_priority

T = TypeVar("T")


class TaskRunner(Protocol):
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in another process; its result (or its error, raised here)."""
        ...

    async def close(self) -> None:
        ...


def niced(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` as batch work: the kernel serves requests first."""
    lower_priority()
    return fn(*args)


class ProcessTasks:
    """Up to ``processes`` calls at a time, each in a spawned child process."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(niced, fn, *args))

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
