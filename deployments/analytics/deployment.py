"""The marketing analytics service as a Serve deployment.

The replica opens the stores (embedded ones through their owner actors), serves the
current registered model versions, and runs the job system's worker loop over the
analytics kinds (imports, reports, training; due report schedules are its chore).
Training runs as Ray tasks with the suite's batch resources (`RayTasks`), never in the
replica; a replica that shuts down hands its jobs back. `reconfigure` (the deployment's
``user_config``) switches model names or pins versions, e.g.
``{"versions": {"clv": 3}}``; Serve's periodic `check_health` restarts a dead worker
loop. Nothing is built at import time.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve import Deployment

from config.replicas import ANALYTICS
from config.settings import load_settings
from deployments.analytics.service import AnalyticsService
from storage.jobs.ray_tasks import RayTasks
from storage.stores import open_stores


class Analytics(AnalyticsService):
    """`AnalyticsService` on the replica's own settings and stores; every public method
    of the service is callable through the deployment handle. Serve awaits the async
    constructor on the replica's event loop, where the worker loop then runs."""

    async def __init__(self) -> None:  # type: ignore[misc]
        settings = load_settings()
        super().__init__(settings, open_stores(settings, via_ray=True),
                         tasks=RayTasks(settings.analytics_task_cpus))
        await self.stores.connect()
        await self.stores.database.migrate()
        self.start_worker()

    async def reconfigure(self, config: dict[str, Any]) -> None:
        self.configure_models(config or {})

    async def __del__(self) -> None:
        """Serve's graceful shutdown: hand the jobs running here back to the queue."""
        await self.stop()

    async def check_health(self) -> None:
        if not self.start_worker():
            raise RuntimeError("the analytics job worker loop does not run")


AnalyticsDeployment: Deployment = serve.deployment(
    name=ANALYTICS.name, **ANALYTICS.options())(Analytics)
"""Replica settings: config/replicas.py."""
