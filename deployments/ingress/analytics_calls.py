"""Calling the analytics service from a route, with its typed errors turned into 4xx.

Errors raised in the replica arrive as themselves (`HandleClient` unwraps Ray's wrapper)."""

from __future__ import annotations

from typing import Any

from actors.analytics.errors import (
    AnalyticsError,
    BadUploadError,
    InfeasibleBudgetError,
    InsufficientDataError,
    NotFittedError,
)
from deployments.ingress.context import IngressContext
from deployments.ingress.errors import ApiError

SERVICE = "analytics"


def status_for(exc: AnalyticsError) -> int:
    if isinstance(exc, LookupError):
        return 404
    if isinstance(exc, NotFittedError):
        return 409
    if isinstance(exc, (InfeasibleBudgetError, InsufficientDataError)):
        return 422
    if isinstance(exc, BadUploadError):
        return 400
    return 400


def api_error(exc: Exception) -> ApiError | None:
    return ApiError(status_for(exc), str(exc)) if isinstance(exc, AnalyticsError) else None


async def call(ctx: IngressContext, method: str, *args: Any, **kwargs: Any) -> Any:
    """`method` of the analytics service; `AnalyticsError` -> `ApiError` 4xx."""
    return await ctx.call(SERVICE, method, *args, translate=api_error, **kwargs)
