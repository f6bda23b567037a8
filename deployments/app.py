"""The Serve application: the ingress in front of the model deployments.

``serve run deployments.app:build_app`` / ``serve deploy config/serve.yaml`` /
``armillary up`` all build it here. Every replica gets an explicit fractional
``num_cpus``; on a 2-CPU machine the sum stays well under 2 so that autoscaling and
Ray Data / Tune jobs still find room.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from ray.serve import Application

from config.settings import load_settings
from deployments.analytics.deployment import AnalyticsDeployment
from deployments.crypto.config import user_config
from deployments.crypto.deployment import CryptoDeployment
from deployments.echo.deployment import EchoDeployment
from deployments.ingress.deployment import IngressDeployment
from deployments.ocr.deployment import OcrDeployment


class AppArgs(BaseModel):
    """Arguments of `build_app` (the ``args:`` of an application in serve.yaml). Secrets
    never travel here: replicas read them from their own environment."""

    ingress_min_replicas: int | None = Field(None, ge=1)
    ingress_max_replicas: int | None = Field(None, ge=1)
    ingress_num_cpus: float | None = Field(None, gt=0)
    crypto_config: dict[str, Any] = Field(default_factory=dict)
    """Overrides of the Crypto deployment's user_config (``deployments.crypto.
    config.ServingConfig``: pins, batching, refresh_s, max_model_age_s, ...). Changing only these
    reconfigures the running replica instead of restarting it."""


def build_app(args: AppArgs) -> Application:
    settings = load_settings()
    min_replicas = args.ingress_min_replicas or settings.ingress_min_replicas
    max_replicas = max(min_replicas, args.ingress_max_replicas or settings.ingress_max_replicas)
    ingress = IngressDeployment.options(
        ray_actor_options={"num_cpus": args.ingress_num_cpus or settings.ingress_num_cpus},
        max_ongoing_requests=settings.ingress_max_ongoing_requests,
        autoscaling_config={
            "min_replicas": min_replicas,
            "max_replicas": max_replicas,
            "target_ongoing_requests": max(1, settings.ingress_max_ongoing_requests // 2),
        },
        # In HAProxy mode idle keep-alive connections hold a stopping replica for the
        # whole graceful period; requests here are short, so 5 s is plenty.
        graceful_shutdown_timeout_s=5,
        graceful_shutdown_wait_loop_s=1,
    )
    crypto = CryptoDeployment.options(
        user_config=user_config(settings, args.crypto_config),
        ray_actor_options={"num_cpus": settings.crypto_num_cpus},
    )
    return ingress.bind(
        echo=EchoDeployment.bind(), analytics=AnalyticsDeployment.bind(), crypto=crypto.bind(),
        ocr=OcrDeployment.bind(),
    )
