"""API keys for service clients (Database kind). Only a SHA-256 of the secret is
stored: keys carry 256 bits of randomness, so a slow password hash adds nothing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from storage.database.base import Queries, Row
from storage.sealing import Sealer

PREFIX = "ak_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    created_by: str
    created_at: float
    last_used_at: float | None
    """When the key last authenticated a request (to the minute)."""
    revoked_at: float | None

    @classmethod
    def from_row(cls, row: Row) -> ApiKey:
        return cls(**{k: v for k, v in row.items() if k != "key_hash"})

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "role": self.role, "created_by": self.created_by,
            "created_at": self.created_at, "last_used_at": self.last_used_at,
            "revoked": self.revoked_at is not None,
        }


class ApiKeys:
    """API keys; the digest of each secret is stored sealed (`storage.sealing`) when a
    `Sealer` is given (the ingress and the CLI give the settings' one)."""

    def __init__(self, db: Queries, sealer: Sealer | None = None) -> None:
        self._db = db
        self._sealer = sealer

    def _seal(self, digest: str) -> str:
        return digest if self._sealer is None else self._sealer.seal(digest)

    def _open(self, stored: str) -> str:
        return stored if self._sealer is None else self._sealer.open(stored)

    async def rotate_keys(self) -> int:
        """Re-encrypt every stored digest with the sealer's first key; returns how many."""
        if self._sealer is None:
            raise ValueError("rotating needs a sealer")
        rows = await self._db.fetch("SELECT id, key_hash FROM api_keys")
        for row in rows:
            await self._db.execute("UPDATE api_keys SET key_hash = $2 WHERE id = $1",
                                   row["id"], self._sealer.rotate(row["key_hash"]))
        return len(rows)

    async def create(self, name: str, role: str, created_by: str) -> tuple[ApiKey, str]:
        """Returns the key record and the full key, which is never shown again."""
        key_id = uuid.uuid4().hex[:16]
        secret = secrets.token_urlsafe(32)
        now = time.time()
        await self._db.execute(
            "INSERT INTO api_keys (id, name, key_hash, role, created_by, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            key_id, name, self._seal(_digest(secret)), role, created_by, now,
        )
        return ApiKey(key_id, name, role, created_by, now, None, None), f"{PREFIX}{key_id}.{secret}"

    async def verify(self, presented: str) -> ApiKey | None:
        """The live key matching `presented`, or None (unknown, wrong secret, revoked)."""
        if not presented.startswith(PREFIX) or "." not in presented:
            return None
        key_id, _, secret = presented[len(PREFIX):].partition(".")
        row = await self._db.fetchrow("SELECT * FROM api_keys WHERE id = $1", key_id)
        if row is None or row["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(self._open(row["key_hash"]), _digest(secret)):
            return None
        return ApiKey.from_row(row)

    async def touch(self, key_id: str) -> None:
        await self._db.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1",
                               key_id, time.time())

    async def list(self) -> list[ApiKey]:
        rows = await self._db.fetch("SELECT * FROM api_keys ORDER BY created_at")
        return [ApiKey.from_row(r) for r in rows]

    async def revoke(self, key_id: str) -> bool:
        return bool(await self._db.execute(
            "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            key_id, time.time(),
        ))
