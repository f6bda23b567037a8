"""The Serve application: the ingress in front of the model deployments.

``serve run deployments.app:build_app`` / ``serve deploy config/serve.yaml`` /
``armillary up`` all build it here. Every replica gets an explicit fractional
``num_cpus`` from config/replicas.py (the one table of replica settings, which
config/serve.yaml is generated from); on a 2-CPU machine the sum stays well under 2 so
that autoscaling and Ray Data / Tune jobs still find room.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from ray.serve import Application, Deployment

from config.replicas import replica_table
from config.settings import Settings, load_settings
from deployments.analytics.deployment import AnalyticsDeployment
from deployments.crypto.config import user_config
from deployments.crypto.deployment import CryptoDeployment
from deployments.echo.deployment import EchoDeployment
from deployments.echo.service import Echo
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
    return compose_app(load_settings(), args)


def compose_app(settings: Settings, args: AppArgs) -> Application:
    """The application `build_app` builds, on ``settings``: every deployment with its row of
    :func:`config.replicas.replica_table` (the settings' and ``args``' overrides applied)."""
    table = replica_table(settings, ingress_min_replicas=args.ingress_min_replicas,
                          ingress_max_replicas=args.ingress_max_replicas,
                          ingress_num_cpus=args.ingress_num_cpus)

    def configured(deployment: Deployment) -> Deployment:
        return deployment.options(**table[deployment.name].options())

    crypto = configured(CryptoDeployment).options(
        user_config=user_config(settings, args.crypto_config))
    # a service named in ``ingress_in_replica_services`` travels to the ingress as the
    # object itself, answered in its process (no deployment, no handle hop)
    echo = Echo() if "echo" in settings.in_replica_services else configured(EchoDeployment).bind()
    return configured(IngressDeployment).bind(
        echo=echo,
        analytics=configured(AnalyticsDeployment).bind(),
        crypto=crypto.bind(),
        ocr=configured(OcrDeployment).bind(),
    )
