"""FastAPI dependencies: the shared context, and `require(roles)`, which every
protected route declares — it authenticates (bearer JWT or ``X-API-Key``), checks the
role (403), counts the request against the caller's rate limit (429 with
``Retry-After``) and leaves the caller's name for the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from deployments.ingress.auth import Principal
from deployments.ingress.context import IngressContext
from deployments.ingress.errors import ApiError
from deployments.ingress.middleware import ACTOR_KEY
from deployments.ingress.roles import Role


def get_context(request: Request) -> IngressContext:
    return request.app.state.ctx


Context = Annotated[IngressContext, Depends(get_context)]


def require(allowed: frozenset[Role]) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting principals whose role is in `allowed`."""

    async def dependency(
        request: Request,
        ctx: Context,
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Principal:
        principal, decision = await ctx.auth.authenticate_and_count(
            authorization, x_api_key, ctx.settings.rate_limit_per_minute
        )
        request.scope[ACTOR_KEY] = f"{principal.kind}:{principal.name}"
        if principal.role not in allowed:
            needed = ", ".join(sorted(r.value for r in allowed))
            raise ApiError(403, f"role {principal.role.value!r} may not do this (needs {needed})")
        if not decision.allowed:
            raise ApiError(
                429, f"rate limit of {decision.limit} requests per minute exceeded",
                {"Retry-After": str(decision.retry_after_s)},
            )
        return principal

    dependency.allowed_roles = allowed  # type: ignore[attr-defined]
    return dependency
