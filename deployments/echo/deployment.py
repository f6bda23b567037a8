"""The echo service as a Serve deployment. The ingress routes ``/api/v1/echo`` to it; it is
the target of the ingress latency benchmark."""

from __future__ import annotations

from ray import serve
from ray.serve import Deployment

from config.replicas import ECHO
from deployments.echo.service import Echo

EchoDeployment: Deployment = serve.deployment(name=ECHO.name, **ECHO.options())(Echo)
"""Replica settings: config/replicas.py."""
