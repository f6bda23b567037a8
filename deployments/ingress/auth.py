"""Authentication: the OAuth2 password flow, refresh rotation, logout, API keys, and
turning a request's credentials into a `Principal`.

Revocation holds even for stateless access tokens: logout denies the token's ``jti`` and
disabling a user (or changing their role) denies all of their tokens issued before that
moment, through keys on the Cache kind that live as long as an access token. Every
replica refuses such a token at once when the revocation's EventBus message arrives, and
within ``revocation_max_age_s`` at the latest (`deployments.ingress.revocation`). Rate
limits are counted by reservation from the shared window
(`deployments.ingress.ratelimit`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from config.settings import Settings
from deployments.ingress.errors import ApiError
from deployments.ingress.ratelimit import ReservingRateLimiter
from deployments.ingress.revocation import Revocations
from deployments.ingress.roles import Role
from deployments.ingress.security import AccessTokens, InvalidTokenError
from storage.cache.base import Cache, RateDecision
from storage.database.base import Database
from storage.eventbus.base import EventBus
from storage.records.accounts import (
    AccountError,
    Accounts,
    Passwords,
    UserExistsError,
)
from storage.records.api_keys import ApiKeys
from storage.records.refresh_tokens import RefreshOutcome, RefreshTokens
from storage.records.users import User, Users
from storage.sealing import settings_sealer

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    role: Role
    kind: Literal["user", "apikey"]
    jti: str | None = None
    expires_at: float | None = None


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, BEARER_CHALLENGE)


class AuthService:
    def __init__(self, settings: Settings, db: Database, cache: Cache,
                 eventbus: EventBus) -> None:
        self._settings = settings
        self._cache = cache
        self.revocations = Revocations(cache, eventbus, settings.revocation_max_age_s)
        self.limiter = ReservingRateLimiter(cache, settings.rate_limit_block)
        self.users = Users(db)
        self.api_keys = ApiKeys(db, settings_sealer(settings))
        self.refresh_tokens = RefreshTokens(db, settings.refresh_token_ttl_s)
        self.passwords = Passwords()
        self.accounts = Accounts(db, self.passwords)
        self.tokens = AccessTokens(
            settings.jwt_secret.get_secret_value(), settings.jwt_issuer,
            settings.jwt_audience, settings.access_token_ttl_s,
        )

    async def create_user(self, username: str, password: str, role: Role) -> User:
        """A new user (`Accounts.create`): 409 when the name is taken, 422 for a password
        that breaks the rule."""
        try:
            return await self.accounts.create(username, password, role)
        except AccountError as exc:
            raise ApiError(409 if isinstance(exc, UserExistsError) else 422, str(exc)) from exc

    async def login(self, username: str, password: str) -> TokenPair:
        user = await self.users.by_name(username)
        if not self.passwords.verify(user.password_hash if user else None, password):
            raise _unauthorized("incorrect username or password")
        assert user is not None
        if user.disabled:
            raise _unauthorized("account disabled")
        return await self._pair(user, await self.refresh_tokens.issue(user.id))

    async def _pair(self, user: User, refresh_token: str) -> TokenPair:
        access = self.tokens.issue(user.id, user.username, Role(user.role))
        return TokenPair(access, refresh_token, self.tokens.ttl_s)

    async def refresh(self, refresh_token: str) -> TokenPair:
        rotation = await self.refresh_tokens.rotate(refresh_token)
        if rotation.outcome is RefreshOutcome.REUSED:
            raise _unauthorized("refresh token reuse detected; all sessions of it revoked")
        if rotation.outcome is not RefreshOutcome.OK:
            raise _unauthorized(f"refresh token {rotation.outcome.value}")
        assert rotation.user_id is not None and rotation.token is not None
        user = await self.users.by_id(rotation.user_id)
        if user is None or user.disabled:
            await self.refresh_tokens.revoke_user(rotation.user_id)
            raise _unauthorized("account disabled")
        return await self._pair(user, rotation.token)

    async def logout(self, principal: Principal, refresh_token: str | None) -> None:
        if refresh_token:
            # Ownership is checked before anything is revoked: another user's token is
            # refused and their sessions stay as they were.
            owner = await self.refresh_tokens.revoke_family_of(refresh_token, principal.id)
            if owner is not None and owner != principal.id:
                raise ApiError(403, "that refresh token belongs to another user")
        if principal.jti and principal.expires_at:
            ttl = max(1.0, principal.expires_at - time.time())
            await self.revocations.revoke_token(principal.jti, ttl)

    async def revoke_user_sessions(self, user_id: str) -> None:
        """Deny every token the user holds now (disable, role change)."""
        await self.refresh_tokens.revoke_user(user_id)
        await self.revocations.revoke_user(user_id, self.tokens.ttl_s + 5)

    async def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        """The caller (401 `ApiError` when the credentials are missing or bad)."""
        if api_key:
            return await self._api_key_principal(api_key)
        return await self._bearer_principal(authorization)

    async def authenticate_and_count(
        self, authorization: str | None, api_key: str | None, rate_limit_per_minute: int
    ) -> tuple[Principal, RateDecision]:
        """The caller, and this request counted against their per-minute limit."""
        principal = await self.authenticate(authorization, api_key)
        decision = await self.limiter.hit(f"user:{principal.id}", rate_limit_per_minute, 60.0)
        return principal, decision

    async def _api_key_principal(self, api_key: str) -> Principal:
        key = await self.api_keys.verify(api_key)
        if key is None:
            raise _unauthorized("invalid or revoked API key")
        # last_used_at to the minute: not a database write on every request
        if await self._cache.set_if_absent(f"apikey-used:{key.id}", b"1", 60.0):
            await self.api_keys.touch(key.id)
        return Principal(f"apikey:{key.id}", key.name, Role(key.role), "apikey")

    async def _bearer_principal(self, authorization: str | None) -> Principal:
        if not authorization:
            raise _unauthorized("not authenticated")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("expected 'Authorization: Bearer <token>'")
        try:
            claims = self.tokens.decode(token.strip())
        except InvalidTokenError as exc:
            raise _unauthorized(f"invalid token: {exc}") from exc
        denied_jti, denied_since = await self.revocations.lookup(claims.jti, claims.user_id)
        if denied_jti is not None:
            raise _unauthorized("token revoked")
        if denied_since is not None and claims.issued_at <= float(denied_since):
            raise _unauthorized("token revoked")
        return Principal(claims.user_id, claims.username, claims.role, "user", claims.jti,
                         claims.expires_at)
