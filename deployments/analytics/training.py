"""Training the analytics models: the job kind ``analytics.training`` (:mod:`storage.jobs`).

The service checks the request (a seed in range, the training data present) before the job
exists; the job limits allow ``job_training_user_max_active`` training jobs per user and
``job_training_max_active`` for everyone (429 beyond). A delivery runs every fit of
:mod:`actors.analytics.training` through the service's `TaskRunner` — in a Serve replica,
Ray tasks with the suite's batch resources (`storage.jobs.ray_tasks.RayTasks`): the
replica's event loop only awaits them and never runs the training itself — then registers
the artifacts and serves the new versions. Its result names the models' versions and the
processes that fitted them.

A job trains on one dataset (``dataset_id``): the reference sets (``"reference"``: every
model, from ``analytics_training_data``) or a transactions import (its Warehouse table:
the transactions are read out once, saved as Parquet for the fitting processes, and the
models transactions can fit are registered under the dataset's names; a fit the data is
too small for is listed under ``skipped`` with its reason).
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
    REFERENCE,
    Fit,
    dataset_fits,
    fit_and_save,
    fits,
    register_summary,
    try_fit_and_save,
    write_summary,
)
from config.settings import Settings
from deployments.analytics.errors import UnknownTableError
from deployments.analytics.models import ModelSet
from deployments.analytics.reports import MAX_SEED, analytics_final
from deployments.analytics.warehouse import load_transactions, table_exists
from storage.jobs import JobKind, JobRun, KindPolicy
from storage.jobs.tasks import TaskRunner
from storage.records.models import ModelRegistry
from storage.warehouse.base import Warehouse

TRAINING_JOB = TRAINING_QUEUE = "analytics.training"
TRAINING_LEASE_S = 60.0


class TrainingJobs:
    """The handler of ``analytics.training`` jobs: ``tasks`` runs the fits elsewhere;
    ``plan()`` lists them (default: every model)."""

    def __init__(self, settings: Callable[[], Settings], registry: ModelRegistry,
                 models: ModelSet, tasks: TaskRunner, warehouse: Warehouse,
                 plan: Callable[[], Sequence[Fit]] = fits,
                 dataset_plan: Callable[[str], Sequence[Fit]] = dataset_fits) -> None:
        self.settings = settings
        self.registry = registry
        self.models = models
        self.tasks = tasks
        self.warehouse = warehouse
        self.plan = plan
        self.dataset_plan = dataset_plan

    def kind(self) -> JobKind:
        def policy() -> KindPolicy:
            s = self.settings()
            return KindPolicy(lease_s=TRAINING_LEASE_S, max_attempts=2,
                              max_active=s.job_training_max_active,
                              max_active_per_user=s.job_training_user_max_active)

        return JobKind(TRAINING_JOB, TRAINING_QUEUE, self.run, policy, label="training",
                       final=analytics_final)

    async def payload(self, quick: bool, seed: int, dataset_id: str = REFERENCE
                      ) -> dict[str, Any]:
        """The job's payload; a seed out of range, missing reference data or a dataset
        nothing was imported into are refused now."""
        if not 0 <= seed <= MAX_SEED:
            raise BadUploadError(f"seed must be an integer from 0 to {MAX_SEED}")
        if dataset_id != REFERENCE:
            if not await table_exists(self.warehouse, dataset_id):
                raise UnknownTableError(
                    f"no dataset {dataset_id!r}: import transactions into it first "
                    "(POST /api/v1/analytics/imports)")
            return {"quick": quick, "seed": seed, "dataset_id": dataset_id}
        data_dir = self.settings().marketing_data
        if not data_dir.is_dir():
            raise BadUploadError(
                f"reference training data not found at {data_dir}; import your transactions "
                "(POST /api/v1/analytics/imports) and train on that dataset instead")
        return {"quick": quick, "seed": seed, "data_dir": str(data_dir),
                "dataset_id": REFERENCE}

    async def _dataset_file(self, run: JobRun, dataset_id: str) -> tuple[Path, dict[str, Any]]:
        """The dataset's transactions saved as Parquet for the fitting processes, and
        the data range to register with its models."""
        frame = await load_transactions(self.warehouse, dataset_id)
        path = self.settings().data_dir / "datasets" / f"{dataset_id}-{run.id}.parquet"

        def save() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(path, index=False)

        await asyncio.to_thread(save)
        return path, {"dataset_id": dataset_id, "rows": len(frame),
                      "customers": int(frame["customer_id"].nunique()),
                      "first": str(frame["timestamp"].min()),
                      "last": str(frame["timestamp"].max())}

    async def run(self, run: JobRun) -> dict[str, Any]:
        started = time.perf_counter()
        quick, seed = bool(run.payload["quick"]), int(run.payload["seed"])
        dataset_id = str(run.payload.get("dataset_id") or REFERENCE)
        out = self.settings().data_dir / "models" / "analytics"
        saved: Path | None = None
        if dataset_id == REFERENCE:
            data_dir, data_range = str(run.payload["data_dir"]), {"dataset_id": REFERENCE}
            plan, fit_fn = list(self.plan()), fit_and_save
        else:
            await run.step("reading", 0, None)
            saved, data_range = await self._dataset_file(run, dataset_id)
            data_dir, plan, fit_fn = str(saved), list(self.dataset_plan(dataset_id)), \
                try_fit_and_save
        await run.step("fitting", 0, len(plan) + 1)
        done = 0

        async def fitted(fn: Any, args: tuple[Any, ...]) -> dict[str, Any]:
            nonlocal done
            entry = await self.tasks.run(fit_fn, fn, data_dir, str(out), seed, quick, *args)
            done += 1
            await run.step("fitting", done, len(plan) + 1)
            return dict(entry)

        try:
            entries = await asyncio.gather(*(fitted(fn, args) for fn, args in plan))
        finally:
            if saved is not None:
                saved.unlink(missing_ok=True)
        models = [e for e in entries if "skipped" not in e]
        skipped = {e["fit"]: e["skipped"] for e in entries if "skipped" in e}
        summary: dict[str, Any] = {
            "seed": seed, "quick": quick, "wall_seconds": time.perf_counter() - started,
            "dataset_id": dataset_id,
            "models": {e["name"]: {k: e[k] for k in ("path", "version", "kind", "metrics")}
                       for e in models}}
        await asyncio.to_thread(write_summary, out, summary)
        await run.step("registering", len(plan), len(plan) + 1)
        versions = await register_summary(
            self.registry, summary, Path(data_dir) if saved is None else None, data_range)
        self.models.configure(None, self.models.pins)
        warnings = {name: m["metrics"]["warnings"] for name, m in summary["models"].items()
                    if m["metrics"].get("warnings")}
        return {"dataset_id": dataset_id, "models": versions, "skipped": skipped,
                "warnings": warnings, "wall_seconds": summary["wall_seconds"],
                "task_pids": sorted({int(e["pid"]) for e in entries}),
                "worker_pid": os.getpid()}
