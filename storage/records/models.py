"""The model registry (Database kind): versioned artifacts with their metrics, the data
range they were trained on and the code version; one version per name is current."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from storage.database.base import Database, Row
from storage.errors import ConflictError


@dataclass(frozen=True)
class ModelVersion:
    id: str
    name: str
    version: int
    artifact_uri: str
    metrics: dict[str, Any]
    data_range: dict[str, Any]
    code_version: str
    created_at: float
    is_current: bool

    @classmethod
    def from_row(cls, row: Row) -> ModelVersion:
        return cls(
            **{
                **row,
                "metrics": json.loads(row["metrics"]),
                "data_range": json.loads(row["data_range"]),
                "is_current": bool(row["is_current"]),
            }
        )


class ModelRegistry:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def register(
        self,
        name: str,
        artifact_uri: str,
        metrics: dict[str, Any],
        data_range: dict[str, Any],
        code_version: str,
        make_current: bool = True,
    ) -> ModelVersion:
        """Add the next version of `name` (numbering is race-free: a concurrent register
        that takes the same number retries)."""
        for _ in range(5):
            try:
                async with self._db.transaction() as tx:
                    latest = await tx.fetchval(
                        "SELECT MAX(version) FROM models WHERE name = $1", name
                    )
                    version = int(latest or 0) + 1
                    if make_current:
                        await tx.execute("UPDATE models SET is_current = 0 WHERE name = $1", name)
                    model = ModelVersion(
                        uuid.uuid4().hex, name, version, artifact_uri, metrics, data_range,
                        code_version, time.time(), make_current,
                    )
                    await tx.execute(
                        "INSERT INTO models (id, name, version, artifact_uri, metrics, data_range,"
                        " code_version, created_at, is_current)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        model.id, name, version, artifact_uri, json.dumps(metrics),
                        json.dumps(data_range), code_version, model.created_at, int(make_current),
                    )
                return model
            except ConflictError:
                continue
        raise ConflictError(f"could not register a new version of {name!r}")

    async def current(self, name: str) -> ModelVersion | None:
        row = await self._db.fetchrow(
            "SELECT * FROM models WHERE name = $1 AND is_current = 1", name
        )
        return None if row is None else ModelVersion.from_row(row)

    async def promote(self, name: str, version: int) -> ModelVersion | None:
        async with self._db.transaction() as tx:
            exists = await tx.fetchval(
                "SELECT COUNT(*) FROM models WHERE name = $1 AND version = $2", name, version
            )
            if not exists:
                return None
            await tx.execute("UPDATE models SET is_current = 0 WHERE name = $1", name)
            await tx.execute(
                "UPDATE models SET is_current = 1 WHERE name = $1 AND version = $2", name, version
            )
        return await self.current(name)

    async def versions(self, name: str) -> list[ModelVersion]:
        rows = await self._db.fetch(
            "SELECT * FROM models WHERE name = $1 ORDER BY version DESC", name
        )
        return [ModelVersion.from_row(r) for r in rows]
