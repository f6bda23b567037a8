"""OAuth2 password flow, refresh rotation, logout, who-am-I."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from deployments.ingress.auth import Principal
from deployments.ingress.deps import Context, require
from deployments.ingress.errors import ApiError
from deployments.ingress.middleware import ACTOR_KEY
from deployments.ingress.roles import ANYONE

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
"""Token responses must not be kept by any cache (RFC 6749 section 5.1)."""


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=200)


@router.post("/token", response_model=TokenResponse)
async def token(
    request: Request, response: Response, ctx: Context,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Any:
    response.headers.update(NO_STORE)
    request.scope[ACTOR_KEY] = f"login:{form.username[:64]}"
    client = request.client.host if request.client else "unknown"
    decision = await ctx.stores.cache.hit(
        f"login:{client}:{form.username[:64]}", ctx.settings.login_rate_limit_per_minute, 60.0
    )
    if not decision.allowed:
        raise ApiError(429, "too many login attempts",
                       {"Retry-After": str(decision.retry_after_s)})
    return asdict(await ctx.auth.login(form.username, form.password))


@router.post("/refresh", response_model=TokenResponse)
async def refresh(body: RefreshRequest, response: Response, ctx: Context) -> Any:
    response.headers.update(NO_STORE)
    return asdict(await ctx.auth.refresh(body.refresh_token))


@router.post("/logout", status_code=204)
async def logout(
    ctx: Context,
    principal: Annotated[Principal, Depends(require(ANYONE))],
    body: LogoutRequest | None = None,
) -> Response:
    await ctx.auth.logout(principal, body.refresh_token if body else None)
    return Response(status_code=204)


@router.get("/me")
async def me(principal: Annotated[Principal, Depends(require(ANYONE))]) -> dict[str, Any]:
    return {"id": principal.id, "name": principal.name, "role": principal.role.value,
            "kind": principal.kind}
