"""Liveness, readiness (each store checked), Prometheus metrics, job status, and the
echo service (a trivial deployment: smoke test and latency benchmark target)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from deployments.ingress.auth import Principal
from deployments.ingress.deps import Context, require
from deployments.ingress.errors import ApiError
from deployments.ingress.roles import ANYONE, Role

router = APIRouter(tags=["system"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(ctx: Context) -> JSONResponse:
    stores = await ctx.stores.health(ctx.settings.store_timeout_s)
    ctx.metrics.set_health(stores)
    down = sorted(k for k, v in stores.items() if v != "ok")
    body = {"status": "ready" if not down else "degraded", "stores": stores, "down": down}
    return JSONResponse(body, 200 if not down else 503)


@router.get("/metrics")
async def metrics(ctx: Context) -> Response:
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/jobs/{job_id}")
async def job_status(
    job_id: str, ctx: Context, principal: Annotated[Principal, Depends(require(ANYONE))]
) -> dict[str, Any]:
    job = await ctx.jobs.get(job_id)
    if job is None or (principal.role is not Role.ADMIN and job.owner != principal.id):
        raise ApiError(404, f"no job {job_id!r}")
    return job.public()


@router.get("/api/v1/echo")
async def echo(
    ctx: Context,
    principal: Annotated[Principal, Depends(require(ANYONE))],
    message: Annotated[str, Query(max_length=10_000)],
) -> dict[str, Any]:
    """Round trip through the Echo deployment (read-only: nothing to audit)."""
    reply = await ctx.echo.echo(message)
    return {"echo": reply, "caller": principal.name}
