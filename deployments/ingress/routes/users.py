"""User management and API keys (admins only), and the audit log viewer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from deployments.ingress.auth import Principal
from deployments.ingress.deps import Context, require
from deployments.ingress.errors import ApiError
from deployments.ingress.limits import MAX_EPOCH_S, MAX_OFFSET
from deployments.ingress.roles import ADMINS, Role

router = APIRouter(prefix="/api/v1", tags=["admin"])
Admin = Annotated[Principal, Depends(require(ADMINS))]

USERNAME = r"^[A-Za-z0-9_.@\-]{3,64}$"


class NewUser(BaseModel):
    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=8, max_length=256)
    role: Role = Role.VIEWER


class UserChange(BaseModel):
    role: Role | None = None
    disabled: bool | None = None


class NewApiKey(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.VIEWER


@router.get("/users")
async def list_users(
    ctx: Context, _: Admin, limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[dict[str, Any]]:
    return [u.public() for u in await ctx.auth.users.list(limit, offset)]


@router.post("/users", status_code=201)
async def create_user(body: NewUser, ctx: Context, _: Admin) -> dict[str, Any]:
    return (await ctx.auth.create_user(body.username, body.password, body.role)).public()


@router.patch("/users/{user_id}")
async def change_user(
    user_id: str, body: UserChange, ctx: Context, admin: Admin
) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise ApiError(422, "nothing to change: give role and/or disabled")
    if user_id == admin.id and (changes.get("disabled") or changes.get("role", "admin") != "admin"):
        raise ApiError(409, "admins cannot disable or demote themselves")
    if "role" in changes:
        changes["role"] = changes["role"].value
    user = await ctx.auth.users.update(user_id, **changes)
    if user is None:
        raise ApiError(404, f"no user {user_id!r}")
    await ctx.auth.revoke_user_sessions(user_id)
    return user.public()


@router.get("/apikeys")
async def list_api_keys(ctx: Context, _: Admin) -> list[dict[str, Any]]:
    return [k.public() for k in await ctx.auth.api_keys.list()]


@router.post("/apikeys", status_code=201)
async def create_api_key(body: NewApiKey, ctx: Context, admin: Admin) -> dict[str, Any]:
    record, key = await ctx.auth.api_keys.create(body.name, body.role.value, admin.id)
    return {**record.public(), "key": key, "note": "store this key now; it is not shown again"}


@router.delete("/apikeys/{key_id}", status_code=204)
async def revoke_api_key(key_id: str, ctx: Context, _: Admin) -> Response:
    if not await ctx.auth.api_keys.revoke(key_id):
        raise ApiError(404, f"no live API key {key_id!r}")
    return Response(status_code=204)


@router.get("/audit")
async def audit_log(
    ctx: Context, _: Admin, limit: int = Query(100, ge=1, le=1000), actor: str | None = None,
    before: float | None = Query(None, allow_inf_nan=False, ge=0, le=MAX_EPOCH_S),
) -> list[dict[str, Any]]:
    return await ctx.audit.recent(limit, actor, before)
