"""The ingress FastAPI application, independent of Serve: `create_api` builds it from
settings, stores and service clients, so the same app runs as a Serve ingress
deployment and under bare uvicorn (tests, benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from config.settings import Settings
from deployments.ingress.context import IngressContext
from deployments.ingress.docs import install_docs
from deployments.ingress.errors import install_error_handlers, install_error_schema
from deployments.ingress.logs import configure_json_logging
from deployments.ingress.middleware import RequestMiddleware
from deployments.ingress.routes import (
    analytics,
    analytics_reports,
    auth,
    crypto,
    ocr,
    system,
    users,
)
from deployments.ingress.services import Transport
from deployments.ingress.web import web_app
from storage.stores import Stores

ROUTES = (system, auth, users, analytics, analytics_reports, crypto, ocr)
"""The route modules (``deployments/ingress/routes/<area>.py``, each a ``router``) the app
serves, in order."""


def create_api(
    settings: Settings,
    stores: Stores,
    services: Mapping[str, Transport],
    *,
    behind_serve: bool = False,
    web_dist: Path | None = None,
) -> FastAPI:
    """The ingress app. ``services``: how to reach each service, by name (Serve handles in
    `HandleTransport`, objects in this process in `LocalTransport`). Stores are connected
    (and the schema migrated) on start-up and closed on shutdown through the ASGI
    lifespan."""
    ctx = IngressContext(settings, stores, services)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_json_logging()
        await stores.connect()
        await stores.database.migrate()
        drainer = asyncio.create_task(ctx.audit_writer.run_drainer())
        listener = asyncio.create_task(ctx.auth.revocations.listen())
        try:
            yield
        finally:
            for task in (listener, drainer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await ctx.audit_writer.drain()
            await stores.close()

    app = FastAPI(
        title="Armillary", version="0.1.0", lifespan=lifespan,
        description="Crypto prediction, document OCR and marketing analytics on Ray.",
        docs_url=None, redoc_url=None,  # served offline by install_docs
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    install_error_schema(app)
    install_docs(app)
    for module in ROUTES:
        app.include_router(module.router)
    # The built web interface answers what no route matches, as the router's default (a
    # mount at / would match every path fully and turn a wrong method's 405 into its 404).
    web = web_app(web_dist)
    if web is not None:
        app.router.default = web
    app.add_middleware(
        RequestMiddleware, max_body_bytes=settings.max_body_bytes, metrics=ctx.metrics,
        audit=lambda: ctx.audit_writer, add_request_id_header=not behind_serve,
    )
    return app
