"""The ingress app without Serve, for the ingress benchmark's baseline: the same
`create_api` (auth, rate limit, audit, metrics) with the echo service in-process, run
by uvicorn: ``uvicorn --factory --app-dir benchmarks bare_app:build``."""

from __future__ import annotations

from fastapi import FastAPI

from config.settings import load_settings
from deployments.echo.service import Echo
from deployments.ingress.api import create_api
from deployments.ingress.services import LocalTransport
from storage.stores import open_stores


def build() -> FastAPI:
    settings = load_settings()
    return create_api(settings, open_stores(settings, via_ray=False),
                      {"echo": LocalTransport(Echo())})
