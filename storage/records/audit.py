"""The audit log (Database kind): who did what, when, with what outcome."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from storage.database.base import Queries


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    method: str
    path: str
    status: int
    request_id: str
    detail: dict[str, Any] | None = None

    @property
    def outcome(self) -> str:
        if self.status < 400:
            return "success"
        return "denied" if self.status in (401, 403, 429) else "failure"


class AuditLog:
    def __init__(self, db: Queries) -> None:
        self._db = db

    async def record(self, entry: AuditEntry) -> None:
        await self._db.execute(
            "INSERT INTO audit_log (id, at, actor, method, path, status, outcome, request_id,"
            " detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            uuid.uuid4().hex, time.time(), entry.actor, entry.method, entry.path, entry.status,
            entry.outcome, entry.request_id,
            None if entry.detail is None else json.dumps(entry.detail),
        )

    async def recent(
        self, limit: int = 100, actor: str | None = None, before: float | None = None
    ) -> list[dict[str, Any]]:
        rows = await self._db.fetch(
            "SELECT * FROM audit_log WHERE (CAST($1 AS TEXT) IS NULL OR actor = $1)"
            " AND (CAST($2 AS DOUBLE PRECISION) IS NULL OR at < $2) ORDER BY at DESC LIMIT $3",
            actor, before, limit,
        )
        for row in rows:
            row["detail"] = None if row["detail"] is None else json.loads(row["detail"])
        return rows
