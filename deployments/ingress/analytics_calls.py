"""Calling the analytics service from a route, with its typed errors turned into 4xx.

An exception raised inside a Serve replica reaches the ingress as a Ray error that
subclasses the original type (so `except AnalyticsError` works) and keeps the original
as `.cause`, whose message is what the client sees (never a traceback)."""

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


def message_of(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    return str(cause if isinstance(cause, BaseException) else exc)


async def call(ctx: IngressContext, method: str, *args: Any, **kwargs: Any) -> Any:
    """`method` of the analytics service; `AnalyticsError` -> `ApiError` 4xx."""
    try:
        return await ctx.service(SERVICE).call(method, *args, **kwargs)
    except AnalyticsError as exc:
        raise ApiError(status_for(exc), message_of(exc)) from None
