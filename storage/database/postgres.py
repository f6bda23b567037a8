"""Database on PostgreSQL through asyncpg.

URL format: ``postgresql://user:password@host:5432/database`` (``postgres://`` too).
Query parameter ``schema=NAME`` sets the search_path (the schema is created if missing),
which the tests use to isolate runs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from storage.database.base import Database, Queries, Row
from storage.errors import ConflictError, StorageError, StoreUnavailableError

_MIGRATION_LOCK_KEY = 0x41524D49  # "ARMI"
_SCHEMA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError, asyncpg.InsufficientResourcesError,
    asyncpg.InternalClientError,
)
"""The server is away or refusing work for now (restart, shutdown, connection dropped
mid-query, pool closed, too many connections, timeout): `StoreUnavailableError`.
InternalClientError: the pool resetting a connection the server just dropped ("cannot
switch to state ..."), seen under `pg_ctl restart -m fast`."""


def _unavailable(exc: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(f"PostgreSQL unavailable: {type(exc).__name__}: {exc}")


def _affected(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Connection(Queries):
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            return _affected(await self._conn.execute(sql, *args))
        except asyncpg.UniqueViolationError as exc:
            raise ConflictError(str(exc)) from exc
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        except asyncpg.PostgresError as exc:
            raise StorageError(str(exc)) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            return [dict(r) for r in await self._conn.fetch(sql, *args)]
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        except asyncpg.PostgresError as exc:
            raise StorageError(str(exc)) from exc


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, dsn: str, schema: str | None = None, max_size: int = 10) -> None:
        if schema is not None and not _SCHEMA.match(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        self._dsn = dsn
        self._schema = schema
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None

    @classmethod
    def from_url(cls, url: str) -> PostgresDatabase:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        schema = query.pop("schema", None)
        dsn = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), ""))
        return cls(dsn, schema=schema)

    async def connect(self) -> None:
        if self._pool is not None:
            return
        settings = {"search_path": self._schema} if self._schema else {}
        try:
            if self._schema:
                conn = await asyncpg.connect(self._dsn, timeout=10)
                try:
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
                finally:
                    await conn.close()
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=self._max_size, timeout=10,
                server_settings=settings,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise StoreUnavailableError(f"PostgreSQL unreachable: {exc}") from exc

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _pool_ready(self) -> asyncpg.Pool:
        await self.connect()
        assert self._pool is not None
        return self._pool

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._on_connection(lambda conn: conn.execute(sql, *args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._on_connection(lambda conn: conn.fetch(sql, *args))

    async def _on_connection(self, statement: Any) -> Any:
        """Run `statement(connection)` on a pooled connection; a lost server is
        `StoreUnavailableError`."""
        pool = await self._pool_ready()
        try:
            async with pool.acquire() as conn:
                return await statement(_Connection(conn))
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc

    @asynccontextmanager
    async def _transaction(self, exclusive: bool) -> AsyncIterator[Queries]:
        pool = await self._pool_ready()
        try:
            async with pool.acquire() as conn, conn.transaction():
                if exclusive:
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)
                yield _Connection(conn)
        except UNAVAILABLE as exc:  # acquiring, beginning or committing
            raise _unavailable(exc) from exc

    def transaction(self) -> AbstractAsyncContextManager[Queries]:
        return self._transaction(exclusive=False)

    def migration_lock(self) -> AbstractAsyncContextManager[Queries]:
        return self._transaction(exclusive=True)

    async def drop_schema(self) -> None:
        """Remove this database's schema and everything in it (test isolation)."""
        if not self._schema:
            raise StorageError("drop_schema needs a schema= URL parameter")
        await self.execute(f'DROP SCHEMA IF EXISTS "{self._schema}" CASCADE')
