"""The floor of the Serve ingress, for `benchmarks/ingress.py --floor`: the same
``GET /api/v1/echo`` answered by a FastAPI ingress deployment with nothing in it (no auth,
no rate limit, no middleware, no logging) that makes one handle call to an Echo
deployment (``build_floor``), or answers in the ingress replica itself with no handle
hop (``build_floor_no_hop``). What these cost is the least that Serve's HTTP path and one
handle hop cost on this machine; no ingress built on them can be faster. Replica
settings (CPUs, max ongoing requests, one ingress replica) are those the benchmark gives
the real app (config/replicas.py)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from config.replicas import replica_table
from config.settings import load_settings
from deployments.echo.service import Echo

floor_api = FastAPI()
no_hop_api = FastAPI()


@serve.ingress(floor_api)
class FloorIngress:
    def __init__(self, echo: Any) -> None:
        self._echo = echo

    @floor_api.get("/api/v1/echo")
    async def echo(self, message: str) -> dict[str, Any]:
        return {"echo": await self._echo.echo.remote(message), "caller": "floor"}


@serve.ingress(no_hop_api)
class NoHopIngress:
    def __init__(self) -> None:
        self._echo = Echo()

    @no_hop_api.get("/api/v1/echo")
    async def echo(self, message: str) -> dict[str, Any]:
        return {"echo": self._echo.echo(message), "caller": "floor"}


def _options(name: str) -> dict[str, Any]:
    return replica_table(load_settings(), ingress_max_replicas=1)[name].options()


def build_floor() -> Application:
    echo = serve.deployment(name="Echo", **_options("Echo"))(Echo).bind()
    return serve.deployment(name="Ingress", **_options("Ingress"))(FloorIngress).bind(echo)


def build_floor_no_hop() -> Application:
    return serve.deployment(name="Ingress", **_options("Ingress"))(NoHopIngress).bind()
