"""The crypto service as a Serve deployment: its own stores (embedded ones through their owner
actors), the user_config (:class:`deployments.crypto.config.ServingConfig`) through
``reconfigure`` — so registering a new model version, or changing a pin with ``serve
deploy``, switches models without restarting the replica — and ``@serve.batch`` on the
compute path (one model call per distinct (model, candle) in a batch). The replica runs the
job worker loop of training jobs, whose training is a Ray task with a batch slot, never in
the replica. Nothing is built at import time."""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve import Deployment

from config.replicas import CRYPTO
from config.settings import load_settings
from config.workloads import ACTOR_SLOTS
from deployments.crypto.forecasts import Request, Result
from deployments.crypto.service import CryptoService
from storage.jobs.ray_tasks import RayTasks
from storage.stores import open_stores


class CryptoReplica(CryptoService):
    """The Serve replica of :class:`CryptoService`."""

    def __init__(self) -> None:
        settings = load_settings()
        super().__init__(settings, open_stores(settings, via_ray=True), owns_stores=True,
                         tasks=RayTasks(ACTOR_SLOTS))

    async def reconfigure(self, config: dict[str, Any] | None) -> None:
        await super().reconfigure(config)
        batched: Any = self._batched  # serve.batch adds the setters
        batched.set_max_batch_size(self.config.max_batch_size)
        batched.set_batch_wait_timeout_s(self.config.batch_wait_timeout_s)
        self.start_listeners()
        self.start_jobs()

    async def check_health(self) -> None:
        if self._started and not self.start_jobs():
            raise RuntimeError("the crypto job worker loop does not run")

    async def __del__(self) -> None:
        """Serve's graceful shutdown: hand the training jobs running here back."""
        await self.job_system.worker.stop()

    async def _submit(self, request: Request) -> Result:
        if self.config.batching:
            result: Result = await self._batched(request)
            return result
        return await super()._submit(request)

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.002)
    async def _batched(self, requests: list[Request]) -> list[Result]:
        return await self.predict_many(requests)


CryptoDeployment: Deployment = serve.deployment(name=CRYPTO.name, **CRYPTO.options())(
    CryptoReplica)
"""Replica settings: config/replicas.py (``ARMILLARY_CRYPTO_NUM_CPUS`` overrides them)."""
