"""The Serve application: the ingress in front of the model deployments.

``serve run deployments.app:build_app`` / ``serve deploy config/serve.yaml`` /
``armillary up`` all build it here. Every replica gets an explicit fractional
``num_cpus``; on a 2-CPU machine the sum stays well under 2 so that autoscaling and
Ray Data / Tune jobs still find room.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from ray.serve import Application

from config.settings import load_settings
from deployments.analytics import AnalyticsDeployment
from deployments.echo import EchoDeployment
from deployments.ingress.deployment import IngressDeployment


class AppArgs(BaseModel):
    """Arguments of `build_app` (the ``args:`` of an application in serve.yaml). Secrets
    never travel here: replicas read them from their own environment."""

    ingress_min_replicas: int | None = Field(None, ge=1)
    ingress_max_replicas: int | None = Field(None, ge=1)
    ingress_num_cpus: float | None = Field(None, gt=0)


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
    )
    return ingress.bind(echo=EchoDeployment.bind(), analytics=AnalyticsDeployment.bind())
