"""TimeSeries on the Warehouse kind — the embedded default, and an option wherever
ClickHouse is already run.

URL format: ``warehouse://TABLE`` — points go into ``TABLE`` of the configured
warehouse (a ReplacingMergeTree keyed by measurement, tags and time, so writing a point
again replaces it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.timeseries.base import Point, TimeSeries, check_name
from storage.warehouse.base import Warehouse


def _series_key(tags: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(tags.items())), separators=(",", ":"))


class WarehouseTimeSeries(TimeSeries):
    def __init__(self, warehouse: Warehouse, table: str) -> None:
        self._warehouse = warehouse
        self._table = check_name(table.replace("-", "_").replace(".", "_"))
        self._ready = False

    @classmethod
    def from_url(cls, url: str, *, warehouse: Warehouse | None = None) -> WarehouseTimeSeries:
        if warehouse is None:
            raise ValueError("a warehouse:// time series needs the warehouse it lives in")
        table = url.split("://", 1)[1].strip("/") or "timeseries"
        return cls(warehouse, table)

    async def connect(self) -> None:
        if self._ready:
            return
        await self._warehouse.command(
            f"CREATE TABLE IF NOT EXISTS {self._table} ("
            " measurement LowCardinality(String), series String,"
            " tags Map(String, String), time DateTime64(6, 'UTC'),"
            " fields String, version UInt64"
            ") ENGINE = ReplacingMergeTree(version) ORDER BY (measurement, series, time)"
        )
        self._ready = True

    async def ping(self) -> None:
        await self._warehouse.ping()

    async def write(self, points: Sequence[Point]) -> int:
        await self.connect()
        version = time.time_ns()
        rows = [
            [p.measurement, _series_key(p.tags), dict(p.tags), p.time,
             json.dumps(dict(p.fields)), version]
            for p in points
        ]
        return await self._warehouse.insert(
            self._table, rows, ["measurement", "series", "tags", "time", "fields", "version"]
        )

    async def _select(
        self, measurement: str, where: str, params: dict[str, Any],
        tags: Mapping[str, str] | None, order: str, limit: int | None,
    ) -> list[Point]:
        await self.connect()
        conditions = ["measurement = {m:String}"] + ([where] if where else [])
        params = {**params, "m": measurement}
        for i, (key, value) in enumerate((tags or {}).items()):
            conditions.append(f"tags[{{tk{i}:String}}] = {{tv{i}:String}}")
            params[f"tk{i}"], params[f"tv{i}"] = key, value
        sql = (
            f"SELECT tags, time, fields FROM {self._table} FINAL WHERE "
            + " AND ".join(conditions)
            + f" ORDER BY time {order}"
            + (f" LIMIT {int(limit)}" if limit is not None else "")
        )
        result = await self._warehouse.query(sql, params)
        return [
            Point(measurement, _utc(moment), json.loads(fields), dict(tag_map))
            for tag_map, moment, fields in result.rows
        ]

    async def query(
        self,
        measurement: str,
        start: datetime,
        end: datetime,
        tags: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Point]:
        where = "time >= {start:DateTime64(6, 'UTC')} AND time < {end:DateTime64(6, 'UTC')}"
        params = {"start": start.astimezone(UTC), "end": end.astimezone(UTC)}
        return await self._select(measurement, where, params, tags, "ASC", limit)

    async def last(self, measurement: str, tags: Mapping[str, str] | None = None) -> Point | None:
        points = await self._select(measurement, "", {}, tags, "DESC", 1)
        return points[0] if points else None

    async def delete(self, measurement: str, tags: Mapping[str, str]) -> None:
        await self.connect()
        conditions = ["measurement = {m:String}"]
        params: dict[str, Any] = {"m": measurement}
        for i, (key, value) in enumerate(tags.items()):
            conditions.append(f"tags[{{tk{i}:String}}] = {{tv{i}:String}}")
            params[f"tk{i}"], params[f"tv{i}"] = key, value
        # a synchronous mutation: the points are gone when this returns
        await self._warehouse.command(
            f"ALTER TABLE {self._table} DELETE WHERE {' AND '.join(conditions)}"
            " SETTINGS mutations_sync = 2", params)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
