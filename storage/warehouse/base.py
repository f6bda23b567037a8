"""The Warehouse kind: columnar SQL (ClickHouse dialect) for history, analytics and
ML datasets. Parameters use clickhouse-connect's server-side binding:
``{name:Type}`` placeholders with a ``parameters`` mapping."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.base import Store

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Warehouse(Store):
    @abstractmethod
    async def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        """Run DDL or a statement that returns nothing."""

    @abstractmethod
    async def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> QueryResult:
        ...

    @abstractmethod
    async def query_df(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        ...

    @abstractmethod
    async def insert(
        self, table: str, rows: Sequence[Sequence[Any]], column_names: Sequence[str]
    ) -> int:
        """Insert rows; returns how many were written."""

    @abstractmethod
    async def insert_df(self, table: str, frame: pd.DataFrame) -> int:
        ...
