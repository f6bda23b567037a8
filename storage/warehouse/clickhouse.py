"""Warehouse on ClickHouse through clickhouse-connect: one code path for a server and
for embedded chDB.

URL formats:
- ``clickhouse://user:password@host:8123/database`` (HTTP), ``clickhouses://`` (HTTPS)
- ``chdb:///absolute/path`` — in-process chDB (ClickHouse engine) keeping data in that
  directory; ``chdb://memory`` keeps nothing. A chDB path is held by one process: under
  Ray it is owned by one actor (see `storage.hosted`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from storage.errors import StoreUnavailableError
from storage.warehouse.base import QueryResult, Warehouse

if TYPE_CHECKING:
    import pandas as pd
    from clickhouse_connect.driver.client import Client


class ClickHouseWarehouse(Warehouse):
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._client: Client | None = None
        # clickhouse-connect clients are not safe for concurrent use from several threads.
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> ClickHouseWarehouse:
        parts = urlsplit(url)
        if parts.scheme == "chdb":
            if parts.path and parts.path != "/":
                Path(parts.path).mkdir(parents=True, exist_ok=True)
            return cls(url)
        scheme = "https" if parts.scheme == "clickhouses" else "http"
        return cls(urlunsplit((scheme, parts.netloc, parts.path, parts.query, "")))

    async def connect(self) -> None:
        if self._client is None:
            self._client = await asyncio.to_thread(self._create_client)

    def _create_client(self) -> Client:
        import clickhouse_connect

        try:
            return clickhouse_connect.get_client(dsn=self._dsn)
        except Exception as exc:  # driver raises several unrelated types
            raise StoreUnavailableError(f"warehouse unreachable: {exc}") from exc

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await asyncio.to_thread(client.close)

    async def _run(self, fn_name: str, *args: Any, **kwargs: Any) -> Any:
        await self.connect()
        client = self._client
        assert client is not None

        def call() -> Any:
            with self._lock:
                return getattr(client, fn_name)(*args, **kwargs)

        return await asyncio.to_thread(call)

    async def ping(self) -> None:
        try:
            await self._run("command", "SELECT 1")
        except StoreUnavailableError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(f"warehouse unreachable: {exc}") from exc

    async def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        await self._run("command", sql, parameters=dict(parameters or {}))

    async def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> QueryResult:
        result = await self._run("query", sql, parameters=dict(parameters or {}))
        return QueryResult(list(result.column_names), [tuple(r) for r in result.result_rows])

    async def query_df(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        return await self._run("query_df", sql, parameters=dict(parameters or {}))

    async def insert(
        self, table: str, rows: Sequence[Sequence[Any]], column_names: Sequence[str]
    ) -> int:
        if not rows:
            return 0
        await self._run("insert", table, [list(r) for r in rows], column_names=list(column_names))
        return len(rows)

    async def insert_df(self, table: str, frame: pd.DataFrame) -> int:
        if frame.empty:
            return 0
        await self._run("insert_df", table, frame)
        return len(frame)
