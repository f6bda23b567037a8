"""User accounts (Database kind)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from storage.database.base import Queries, Row


@dataclass(frozen=True)
class User:
    id: str
    username: str
    password_hash: str
    role: str
    disabled: bool
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Row) -> User:
        return cls(**{**row, "disabled": bool(row["disabled"])})

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "username": self.username, "role": self.role,
            "disabled": self.disabled, "created_at": self.created_at,
        }


class Users:
    def __init__(self, db: Queries) -> None:
        self._db = db

    async def create(self, username: str, password_hash: str, role: str) -> User:
        """Raises `ConflictError` when the name is taken."""
        now = time.time()
        user = User(uuid.uuid4().hex, username, password_hash, role, False, now, now)
        await self._db.execute(
            "INSERT INTO users (id, username, password_hash, role, disabled, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, 0, $5, $5)",
            user.id, username, password_hash, role, now,
        )
        return user

    async def by_name(self, username: str) -> User | None:
        row = await self._db.fetchrow("SELECT * FROM users WHERE username = $1", username)
        return None if row is None else User.from_row(row)

    async def by_id(self, user_id: str) -> User | None:
        row = await self._db.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
        return None if row is None else User.from_row(row)

    async def list(self, limit: int = 100, offset: int = 0) -> list[User]:
        rows = await self._db.fetch(
            "SELECT * FROM users ORDER BY created_at, username LIMIT $1 OFFSET $2", limit, offset
        )
        return [User.from_row(r) for r in rows]

    async def update(self, user_id: str, **changes: Any) -> User | None:
        allowed = {"role", "disabled", "password_hash"}
        if not changes or not set(changes) <= allowed:
            raise ValueError(f"can only change {sorted(allowed)}")
        values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
        n = len(changes) + 2
        updated = await self._db.execute(
            f"UPDATE users SET {assignments}, updated_at = ${n} WHERE id = $1",
            user_id, *values, time.time(),
        )
        return await self.by_id(user_id) if updated else None
