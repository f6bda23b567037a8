"""Rotating refresh tokens (Database kind). Each login starts a family; each refresh
marks the presented token used and issues the next one in the family. Presenting a
used token again means it was stolen or replayed: the whole family is revoked."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from storage.database.base import Database


class RefreshOutcome(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REUSED = "reused"


@dataclass(frozen=True)
class Rotation:
    outcome: RefreshOutcome
    user_id: str | None = None
    token: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshTokens:
    def __init__(self, db: Database, ttl_s: int) -> None:
        self._db = db
        self._ttl_s = ttl_s

    async def issue(self, user_id: str, family_id: str | None = None) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        await self._db.execute(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, issued_at,"
            " expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            uuid.uuid4().hex, user_id, family_id or uuid.uuid4().hex, _digest(token), now,
            now + self._ttl_s,
        )
        return token

    async def rotate(self, token: str) -> Rotation:
        """Exchange a refresh token for the next one of its family."""
        now = time.time()
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(
                "SELECT * FROM refresh_tokens WHERE token_hash = $1", _digest(token)
            )
            if row is None:
                return Rotation(RefreshOutcome.UNKNOWN)
            if row["revoked_at"] is not None:
                return Rotation(RefreshOutcome.REVOKED, row["user_id"])
            if row["used_at"] is not None:
                await tx.execute(
                    "UPDATE refresh_tokens SET revoked_at = $2"
                    " WHERE family_id = $1 AND revoked_at IS NULL", row["family_id"], now,
                )
                return Rotation(RefreshOutcome.REUSED, row["user_id"])
            if row["expires_at"] <= now:
                return Rotation(RefreshOutcome.EXPIRED, row["user_id"])
            claimed = await tx.execute(
                "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
                row["id"], now,
            )
            if not claimed:  # a concurrent refresh won the race: treat as reuse
                return Rotation(RefreshOutcome.REUSED, row["user_id"])
            new = secrets.token_urlsafe(32)
            await tx.execute(
                "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, issued_at,"
                " expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                uuid.uuid4().hex, row["user_id"], row["family_id"], _digest(new), now,
                now + self._ttl_s,
            )
        return Rotation(RefreshOutcome.OK, row["user_id"], new)

    async def revoke_family_of(self, token: str, owner: str | None = None) -> str | None:
        """Revoke the family the token belongs to; returns its user id. With ``owner``,
        only a token of that user's is revoked (another user's is left alone and its
        owner returned, for the caller to refuse)."""
        row = await self._db.fetchrow(
            "SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1", _digest(token)
        )
        if row is None:
            return None
        if owner is not None and str(row["user_id"]) != owner:
            return str(row["user_id"])
        await self._db.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1"
            " AND user_id = $3 AND revoked_at IS NULL", row["family_id"], time.time(),
            row["user_id"],
        )
        return str(row["user_id"])

    async def revoke_user(self, user_id: str) -> int:
        return await self._db.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            user_id, time.time(),
        )
