"""Database on SQLite (aiosqlite) — the embedded default.

URL format: ``sqlite:////absolute/path/file.db`` or ``sqlite:///:memory:``. The file is
opened in WAL mode with a busy timeout, so several processes (Serve replicas, the CLI)
can share it. ``$n`` parameters are rewritten to SQLite's ``?n``.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.database.base import Database, Queries, Row
from storage.errors import ConflictError, StorageError, StoreUnavailableError

_PARAM = re.compile(r"\$(\d+)")


def _sqlite_sql(sql: str) -> str:
    return _PARAM.sub(r"?\1", sql)


_UNAVAILABLE = ("database is locked", "unable to open", "disk i/o error",
                "database or disk is full", "readonly database", "no active connection",
                "closed database")
"""SQLite (and aiosqlite) messages that say the file cannot be used now, not that the
statement is wrong."""


def _translated(exc: Exception) -> StorageError:
    message = str(exc)
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in message:
        return ConflictError(message)
    if any(part in message.lower() for part in _UNAVAILABLE):
        return StoreUnavailableError(f"SQLite unavailable: {message}")
    return StorageError(message)


class _Connection(Queries):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            cursor = await self._conn.execute(_sqlite_sql(sql), args)
        except (sqlite3.Error, ValueError) as exc:  # aiosqlite: ValueError when closed
            raise _translated(exc) from exc
        return cursor.rowcount

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            cursor = await self._conn.execute(_sqlite_sql(sql), args)
            names = [d[0] for d in cursor.description or ()]
            rows = await cursor.fetchall()
        except (sqlite3.Error, ValueError) as exc:
            raise _translated(exc) from exc
        return [dict(zip(names, row, strict=True)) for row in rows]


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str) -> SqliteDatabase:
        path = url.split("://", 1)[1]
        if path.startswith("/") and path != "/:memory:":
            path = path[1:] if path.startswith("//") else path
        else:
            path = path.lstrip("/")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return cls(path)

    async def connect(self) -> None:
        if self._conn is not None:
            return
        try:
            conn = await aiosqlite.connect(self._path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open SQLite {self._path}: {exc}") from exc
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=30000")
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def _connection(self) -> _Connection:
        await self.connect()
        assert self._conn is not None
        return _Connection(self._conn)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._lock:
            return await (await self._connection()).execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock:
            return await (await self._connection()).fetch(sql, *args)

    @asynccontextmanager
    async def _begin(self, mode: str) -> AsyncIterator[Queries]:
        async with self._lock:
            conn = await self._connection()
            await conn.execute(f"BEGIN {mode}")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    def transaction(self) -> AbstractAsyncContextManager[Queries]:
        return self._begin("IMMEDIATE")

    def migration_lock(self) -> AbstractAsyncContextManager[Queries]:
        return self._begin("EXCLUSIVE")
