"""Named byte strings per owner (a document, a job) in the shared Database, so that any
replica or worker on any node reads what another one wrote.

Tables of this shape: ``(<owner column>, name, data, bytes, created_at)``, unique on
(owner, name). `put` replaces an existing blob of the same name: writing it again (a
redelivered job) stores it once.
"""

from __future__ import annotations

import time

from storage.database.base import Queries


class BlobTable:
    """The blobs of one table, ``table``, whose owner column is ``owner``. Both names are
    the code's own constants, never user input."""

    def __init__(self, db: Queries, table: str, owner: str) -> None:
        self._db, self._table, self._owner = db, table, owner

    async def put(self, owner_id: str, name: str, data: bytes) -> None:
        await self._db.execute(
            f"INSERT INTO {self._table} ({self._owner}, name, data, bytes, created_at)"
            f" VALUES ($1, $2, $3, $4, $5) ON CONFLICT ({self._owner}, name)"
            " DO UPDATE SET data = excluded.data, bytes = excluded.bytes,"
            " created_at = excluded.created_at",
            owner_id, name, bytes(data), len(data), time.time(),
        )

    async def get(self, owner_id: str, name: str) -> bytes | None:
        value = await self._db.fetchval(
            f"SELECT data FROM {self._table} WHERE {self._owner} = $1 AND name = $2",
            owner_id, name)
        return None if value is None else bytes(value)

    async def names(self, owner_id: str) -> dict[str, int]:
        """Name → size of every blob of the owner."""
        rows = await self._db.fetch(
            f"SELECT name, bytes FROM {self._table} WHERE {self._owner} = $1"
            " ORDER BY name", owner_id)
        return {str(r["name"]): int(r["bytes"]) for r in rows}

    async def delete(self, owner_id: str, name: str | None = None) -> int:
        """Delete one blob (``name``) or all of the owner's; returns how many."""
        if name is None:
            return await self._db.execute(
                f"DELETE FROM {self._table} WHERE {self._owner} = $1", owner_id)
        return await self._db.execute(
            f"DELETE FROM {self._table} WHERE {self._owner} = $1 AND name = $2",
            owner_id, name)
