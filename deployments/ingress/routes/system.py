"""Liveness, readiness (each store checked; details for admins), Prometheus metrics
(metrics token or admin), job status, and the
echo service (a trivial deployment: smoke test and latency benchmark target)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from deployments.ingress.auth import Principal
from deployments.ingress.context import IngressContext
from deployments.ingress.deps import Context, require
from deployments.ingress.errors import ApiError
from deployments.ingress.limits import file_response
from deployments.ingress.roles import ANYONE, Role

router = APIRouter(tags=["system"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def optional_principal(
    ctx: Context,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal | None:
    """The caller when the request carries valid credentials, else None (anonymous)."""
    if not authorization and not x_api_key:
        return None
    try:
        return await ctx.auth.authenticate(authorization, x_api_key)
    except ApiError:
        return None


@router.get("/ready")
async def ready(
    ctx: Context, caller: Annotated[Principal | None, Depends(optional_principal)]
) -> JSONResponse:
    """Readiness: the status code (200 or 503) and ``status`` for anyone (probes); which
    store is down and why (addresses, exception text) only for admins."""
    stores = await ctx.stores.health(ctx.settings.store_timeout_s)
    ctx.metrics.set_health(stores)
    down = sorted(k for k, v in stores.items() if v != "ok")
    body: dict[str, Any] = {"status": "ready" if not down else "degraded"}
    if caller is not None and caller.role is Role.ADMIN:
        body.update(stores=stores, down=down)
    return JSONResponse(body, 200 if not down else 503)


def _metrics_token_matches(ctx: IngressContext, authorization: str | None) -> bool:
    token = ctx.settings.metrics_token
    if token is None or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode())


@router.get("/metrics", **file_response("text/plain", "Prometheus text exposition"))
async def metrics(
    ctx: Context,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Response:
    """Prometheus exposition, for the scraper's ``metrics_token`` or an admin."""
    if not _metrics_token_matches(ctx, authorization):
        principal = await ctx.auth.authenticate(authorization, x_api_key)  # 401 when none
        if principal.role is not Role.ADMIN:
            raise ApiError(403, f"role {principal.role.value!r} may not read metrics "
                                "(needs admin, or the metrics token)")
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/jobs/{job_id}")
async def job_status(
    job_id: str, ctx: Context, principal: Annotated[Principal, Depends(require(ANYONE))]
) -> dict[str, Any]:
    job = await ctx.jobs.get(job_id)
    if job is None or (principal.role is not Role.ADMIN and job.owner != principal.id):
        raise ApiError(404, f"no job {job_id!r}")
    return job.public()


ECHO_MAX_CHARS = 1_000
"""At most 12 kB once percent-encoded (4 UTF-8 bytes x 3): a URL any proxy in front of the
suite accepts (10,000 characters made URLs of up to 120 kB, which none forward)."""


@router.get("/api/v1/echo")
async def echo(
    ctx: Context,
    principal: Annotated[Principal, Depends(require(ANYONE))],
    message: Annotated[str, Query(max_length=ECHO_MAX_CHARS)],
) -> dict[str, Any]:
    """Round trip through the Echo deployment (read-only: nothing to audit)."""
    reply = await ctx.echo.echo(message)
    return {"echo": reply, "caller": principal.name}
