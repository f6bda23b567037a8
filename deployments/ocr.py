"""Document OCR as a Serve deployment.

The replica opens the stores (embedded ones through their owner actors) and serves
`OcrService`: uploads are OCRed on a bounded thread pool (``ocr_workers`` pages at a time,
Tesseract with ``OMP_THREAD_LIMIT=1``), so the replica's event loop stays responsive, and
large documents run as background jobs. The replica itself reserves a quarter CPU for its
bookkeeping; nothing is built at import time.
"""

from __future__ import annotations

import os

from ray import serve
from ray.serve import Deployment

from config.settings import load_settings
from deployments.ocr_service.service import OcrService
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


OcrDeployment: Deployment = serve.deployment(
    name="Ocr", ray_actor_options={"num_cpus": 0.25},
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 2},
    max_ongoing_requests=8, graceful_shutdown_timeout_s=30,
)(Ocr)
