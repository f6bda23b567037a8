"""`RayTasks`: a `storage.jobs.tasks.TaskRunner` that runs each call as a Ray task with the
suite's batch resources (``slots`` slots of the batch pool, or the fallback CPUs on a
cluster without one: :func:`config.workloads.batch_options`), niced. The caller must be
connected to Ray (a Serve replica is); awaiting the task leaves its event loop free."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import ray

from config.workloads import batch_options
from storage.jobs.tasks import niced

T = TypeVar("T")


class RayTasks:
    def __init__(self, slots: float) -> None:
        self.slots = slots

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """The task's result; cancelling the caller (its job handed back or lost)
        cancels the task."""
        options = batch_options(self.slots, ray.cluster_resources())
        ref = ray.remote(niced).options(**options).remote(fn, *args)
        try:
            result: T = await ref
        except asyncio.CancelledError:
            ray.cancel(ref)
            raise
        return result

    async def close(self) -> None:
        return None
