"""The model registry (Database kind): versioned artifacts with their metrics, the data
range they were trained on and the code version; one version per name is current.

:class:`VersionResolver` is the one rule every service serves models by: the pinned version
of a name if there is a pin, else its current version, asked again at most every
``refresh_s``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
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
    pinned: bool = False

    @classmethod
    def from_row(cls, row: Row) -> ModelVersion:
        return cls(
            **{
                **row,
                "metrics": json.loads(row["metrics"]),
                "data_range": json.loads(row["data_range"]),
                "is_current": bool(row["is_current"]),
                "pinned": bool(row.get("pinned", 0)),
            }
        )


class ModelRegistry:
    """`keep_versions` (the setting ``model_keep_versions``): each register keeps the
    newest that many versions of the name, plus its current and its pinned versions, and
    deletes the other rows (their artifacts stay where they are). None: keep everything."""

    def __init__(self, db: Database, keep_versions: int | None = None) -> None:
        self._db = db
        self.keep_versions = keep_versions

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
            except ConflictError:
                continue
            if self.keep_versions is not None:
                await self.prune(name, self.keep_versions)
            return model
        raise ConflictError(f"could not register a new version of {name!r}")

    async def prune(self, name: str, keep: int) -> list[ModelVersion]:
        """Delete the versions of `name` other than the newest `keep`, the current one and
        the pinned ones; returns the deleted versions."""
        if keep < 1:
            raise ValueError("keep must be >= 1")
        async with self._db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT * FROM models WHERE name = $1 ORDER BY version DESC", name)
            doomed = [ModelVersion.from_row(r) for r in rows[keep:]
                      if not r["is_current"] and not r["pinned"]]
            for version in doomed:
                await tx.execute("DELETE FROM models WHERE id = $1", version.id)
        return doomed

    async def pin(self, name: str, version: int, pinned: bool = True) -> ModelVersion | None:
        """Pin (or unpin) a version: retention keeps it. None when there is no such
        version."""
        changed = await self._db.execute(
            "UPDATE models SET pinned = $1 WHERE name = $2 AND version = $3",
            int(pinned), name, version)
        if not changed:
            return None
        row = await self._db.fetchrow(
            "SELECT * FROM models WHERE name = $1 AND version = $2", name, version)
        return None if row is None else ModelVersion.from_row(row)

    async def names(self) -> list[str]:
        rows = await self._db.fetch("SELECT DISTINCT name FROM models ORDER BY name")
        return [str(r["name"]) for r in rows]

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


class UnknownVersionError(LookupError):
    """A version pinned for a model that the registry does not hold."""

    def __init__(self, name: str, version: int, registered: list[int]) -> None:
        listed = ", ".join(map(str, registered)) or "none"
        super().__init__(f"model {name!r} is pinned to version {version}, but it has no "
                         f"version {version}; registered versions: {listed}")
        self.name = name
        self.version = version


class VersionResolver:
    """Which version of a model to serve: the version pinned for it, if any, else its
    current version; a resolved answer stands for ``refresh_s`` seconds (of ``clock``), so a
    new current version is picked up at the first resolution after that. ``refresh_s`` may
    be a callable (a setting that changes at runtime)."""

    def __init__(self, registry: ModelRegistry, refresh_s: float | Callable[[], float],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry
        self._refresh_s = refresh_s
        self._clock = clock
        self._resolved: dict[tuple[str, int | None], ModelVersion | None] = {}
        self._next: dict[tuple[str, int | None], float] = {}

    def refresh_s(self) -> float:
        return self._refresh_s() if callable(self._refresh_s) else self._refresh_s

    async def lookup(self, name: str, pin: int | None = None) -> ModelVersion | None:
        """Ask the registry now: version ``pin`` of ``name`` (:class:`UnknownVersionError` when
        it is not registered), else the current version (None when there is none)."""
        if pin is None:
            return await self.registry.current(name)
        versions = await self.registry.versions(name)
        for record in versions:
            if record.version == pin:
                return record
        raise UnknownVersionError(name, pin, sorted(v.version for v in versions))

    def due(self, name: str, pin: int | None = None) -> bool:
        """Whether the next :meth:`resolve` of ``name`` (with ``pin``) asks the registry."""
        key = (name, pin)
        return key not in self._resolved or self._clock() >= self._next[key]

    async def resolve(self, name: str, pin: int | None = None, *,
                      force: bool = False) -> ModelVersion | None:
        """The version to serve under ``name``: the answer of the last :meth:`lookup` while it
        is less than ``refresh_s`` old (and not ``force``), else a new lookup. A lookup that
        raises is not remembered."""
        key = (name, pin)
        if not force and not self.due(name, pin):
            return self._resolved[key]
        record = await self.lookup(name, pin)
        self._resolved[key] = record
        self._next[key] = self._clock() + self.refresh_s()
        return record

    def forget(self) -> None:
        """Ask the registry again at the next resolution of every name (new pins or names)."""
        self._resolved.clear()
        self._next.clear()
