"""The ingress as a Serve deployment. Handles to the model deployments come in through
the constructor; the FastAPI app is built on the replica (`__serve_build_asgi_app__`),
so nothing is constructed at import time and settings are read where the replica runs.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve import Deployment
from ray.serve.handle import DeploymentHandle

from config.replicas import INGRESS
from config.settings import load_settings
from deployments.ingress.api import create_api
from deployments.ingress.services import HandleTransport, LocalTransport, Transport
from storage.stores import open_stores


class Ingress:
    def __init__(self, **handles: Any) -> None:
        self._settings = load_settings()
        self._stores = open_stores(self._settings, via_ray=True)
        # a handle to a deployment, or (``ingress_in_replica_services``) the service object
        self._services: dict[str, Transport] = {
            name: HandleTransport(h) if isinstance(h, DeploymentHandle) else LocalTransport(h)
            for name, h in handles.items()
        }

    def __serve_build_asgi_app__(self) -> Any:
        return create_api(self._settings, self._stores, self._services, behind_serve=True)


IngressDeployment: Deployment = serve.deployment(name=INGRESS.name, **INGRESS.options())(
    serve.ingress()(Ingress))
"""Replica settings: config/replicas.py (``ARMILLARY_INGRESS_*`` override them)."""
