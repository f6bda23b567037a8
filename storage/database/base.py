"""The Database kind: relational rows for users, API keys, refresh tokens, jobs, the
model registry and the audit log.

SQL is written once, in the portable subset both backends accept, with PostgreSQL-style
positional parameters ``$1, $2, ...``. Rows come back as plain dicts. Times are stored
as epoch seconds (DOUBLE PRECISION), flags as INTEGER 0/1 and documents as JSON TEXT so
that every backend returns the same Python types.
"""

from __future__ import annotations

from abc import abstractmethod
from contextlib import AbstractAsyncContextManager
from typing import Any

from storage.base import Store

Row = dict[str, Any]


class Queries(Store):
    """Statements on a database or on one transaction of it."""

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; returns the number of rows it affected."""

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else next(iter(row.values()))

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")


class Database(Queries):
    dialect: str

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Queries]:
        """All statements on the yielded object commit together or not at all."""

    @abstractmethod
    def migration_lock(self) -> AbstractAsyncContextManager[Queries]:
        """A transaction that no other migrating process runs at the same time."""

    async def migrate(self) -> list[str]:
        """Apply pending migrations; returns the versions applied now."""
        from storage.database.migrations import apply_migrations

        return await apply_migrations(self)


