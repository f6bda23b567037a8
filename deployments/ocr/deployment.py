"""Document OCR as a Serve deployment.

The replica opens the stores (embedded ones through their owner actors) and serves
`OcrService`: uploads are OCRed on a bounded thread pool (``ocr_workers`` pages at a time,
Tesseract with ``OMP_THREAD_LIMIT=1``), so the replica's event loop stays responsive.
Large documents are jobs on the EventBus queue: every replica runs the worker loop
(started here, restarted by Serve's periodic `check_health`), so a job queued by one
replica, handed back by a replica that shuts down, or left by one that died, is run by
another (:mod:`deployments.ocr.jobs`). Page images and PDFs live in the shared Database,
so any replica serves them. Serve scales the replicas on ongoing requests plus queued
and running jobs (:mod:`deployments.ocr.scaling`); a replica that shuts down
hands its jobs back at once. The replica itself reserves a fraction of a CPU for its
bookkeeping (config/replicas.py); nothing is built at import time.
"""

from __future__ import annotations

import os

from ray import serve
from ray.serve import Deployment

from config.replicas import OCR
from config.settings import load_settings
from deployments.ocr.service import OcrService
from storage.stores import open_stores


class Ocr(OcrService):
    """`OcrService` on the replica's own settings and stores; every public method of the
    service is callable through the deployment handle."""

    async def __init__(self) -> None:  # type: ignore[misc]
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        settings = load_settings()
        super().__init__(settings, open_stores(settings, via_ray=True))
        await self.stores.connect()
        await self.stores.database.migrate()
        self.start_worker()

    async def __del__(self) -> None:
        """Serve's graceful shutdown, once the ongoing requests are drained: hand the
        jobs running here back to the queue at once (`OcrService.stop`)."""
        await self.stop()

    async def record_autoscaling_stats(self) -> dict[str, float]:
        """Custom metrics for `ocr_autoscaling_policy`: queued and running jobs."""
        return await self.autoscaling_stats()

    async def check_health(self) -> None:
        if not self.start_worker():
            raise RuntimeError("the OCR job worker loop does not run")


OcrDeployment: Deployment = serve.deployment(name=OCR.name, **OCR.options())(Ocr)
"""Replica settings: config/replicas.py (its autoscaling policy:
:func:`deployments.ocr.scaling.ocr_autoscaling_policy`, named there by import path)."""
