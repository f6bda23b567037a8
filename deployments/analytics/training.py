"""Training the analytics models: the job kind ``analytics.training`` (:mod:`storage.jobs`).

The service checks the request (a seed in range, the training data present) before the job
exists; the job limits allow ``job_training_user_max_active`` training jobs per user and
``job_training_max_active`` for everyone (429 beyond). A delivery runs every fit of
:mod:`actors.analytics.training` through the service's `TaskRunner` — in a Serve replica,
Ray tasks with the suite's batch resources (`storage.jobs.ray_tasks.RayTasks`): the
replica's event loop only awaits them and never runs the training itself — then registers
the artifacts and serves the new versions. Its result names the models' versions and the
processes that fitted them.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from actors.analytics.errors import BadUploadError
from actors.analytics.training import (
    DEFAULT_DATA,
    Fit,
    fit_and_save,
    fits,
    register_summary,
    write_summary,
)
from config.settings import Settings
from deployments.analytics.models import ModelSet
from deployments.analytics.reports import MAX_SEED, analytics_final
from storage.jobs import JobKind, JobRun, KindPolicy
from storage.jobs.tasks import TaskRunner
from storage.records.models import ModelRegistry

TRAINING_JOB = TRAINING_QUEUE = "analytics.training"
TRAINING_LEASE_S = 60.0


class TrainingJobs:
    """The handler of ``analytics.training`` jobs: ``tasks`` runs the fits elsewhere;
    ``plan()`` lists them (default: every model)."""

    def __init__(self, settings: Callable[[], Settings], registry: ModelRegistry,
                 models: ModelSet, tasks: TaskRunner,
                 plan: Callable[[], Sequence[Fit]] = fits) -> None:
        self.settings = settings
        self.registry = registry
        self.models = models
        self.tasks = tasks
        self.plan = plan

    def kind(self) -> JobKind:
        def policy() -> KindPolicy:
            s = self.settings()
            return KindPolicy(lease_s=TRAINING_LEASE_S, max_attempts=2,
                              max_active=s.job_training_max_active,
                              max_active_per_user=s.job_training_user_max_active)

        return JobKind(TRAINING_JOB, TRAINING_QUEUE, self.run, policy, label="training",
                       final=analytics_final)

    def payload(self, quick: bool, seed: int) -> dict[str, Any]:
        """The job's payload; a seed out of range or missing data are refused now."""
        if not 0 <= seed <= MAX_SEED:
            raise BadUploadError(f"seed must be an integer from 0 to {MAX_SEED}")
        data_dir = self.settings().analytics_training_data or DEFAULT_DATA
        if not data_dir.is_dir():
            raise BadUploadError(f"training data not found at {data_dir}")
        return {"quick": quick, "seed": seed, "data_dir": str(data_dir)}

    async def run(self, run: JobRun) -> dict[str, Any]:
        started = time.perf_counter()
        quick, seed = bool(run.payload["quick"]), int(run.payload["seed"])
        data_dir = str(run.payload["data_dir"])
        out = self.settings().data_dir / "models" / "analytics"
        plan = list(self.plan())
        await run.step("fitting", 0, len(plan) + 1)
        done = 0

        async def fitted(fn: Any, args: tuple[Any, ...]) -> dict[str, Any]:
            nonlocal done
            entry = await self.tasks.run(fit_and_save, fn, data_dir, str(out), seed, quick,
                                         *args)
            done += 1
            await run.step("fitting", done, len(plan) + 1)
            return entry

        entries = await asyncio.gather(*(fitted(fn, args) for fn, args in plan))
        summary = {"seed": seed, "quick": quick, "wall_seconds": time.perf_counter() - started,
                   "models": {e["name"]: {k: e[k] for k in ("path", "version", "kind",
                                                            "metrics")} for e in entries}}
        await asyncio.to_thread(write_summary, out, summary)
        await run.step("registering", len(plan), len(plan) + 1)
        versions = await register_summary(self.registry, summary, Path(data_dir))
        self.models.configure(None, self.models.pins)
        return {"models": versions, "wall_seconds": summary["wall_seconds"],
                "task_pids": sorted({int(e["pid"]) for e in entries}),
                "worker_pid": os.getpid()}
