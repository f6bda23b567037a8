"""TimeSeries on InfluxDB over its v1 HTTP API (``/write`` with line protocol,
``/query`` with InfluxQL), which InfluxDB 1.x serves and 2.x/3.x keep for
compatibility. Line protocol is produced by influxdb-client's `Point`.

URL format: ``influxdb://[user:password@]host:8086/DATABASE`` (``influxdbs://`` for
HTTPS). The database is created on connect if missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from influxdb_client import Point as LinePoint
from influxdb_client.domain.write_precision import WritePrecision

from storage.errors import StorageError, StoreUnavailableError
from storage.timeseries.base import Point, TimeSeries, check_name


def _ident(name: str) -> str:
    return '"' + check_name(name).replace('"', '\\"') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _to_line(point: Point) -> str:
    line = LinePoint(point.measurement).time(point.time, WritePrecision.US)
    for tag, text in sorted(point.tags.items()):
        line = line.tag(tag, text)
    for name, value in point.fields.items():
        line = line.field(name, value)
    return str(line.to_line_protocol())


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class InfluxTimeSeries(TimeSeries):
    def __init__(self, base_url: str, database: str, auth: tuple[str, str] | None) -> None:
        self._database = check_name(database)
        self._http = httpx.AsyncClient(base_url=base_url, auth=auth, timeout=10.0)

    @classmethod
    def from_url(cls, url: str) -> InfluxTimeSeries:
        parts = urlsplit(url)
        database = parts.path.strip("/") or "armillary"
        scheme = "https" if parts.scheme == "influxdbs" else "http"
        auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        return cls(f"{scheme}://{parts.hostname}:{parts.port or 8086}", database, auth)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise StoreUnavailableError(f"InfluxDB unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise StorageError(f"InfluxDB {path} {response.status_code}: {response.text[:300]}")
        return response

    async def _influxql(self, query: str, *, write: bool = False) -> list[dict[str, Any]]:
        response = await self._request(
            "POST" if write else "GET", "/query",
            params={"db": self._database, "q": query, "epoch": "u"},
        )
        results = response.json().get("results", [])
        for result in results:
            if "error" in result:
                raise StorageError(f"InfluxQL error: {result['error']}")
        return [s for r in results for s in r.get("series", [])]

    async def connect(self) -> None:
        await self._influxql(f"CREATE DATABASE {_ident(self._database)}", write=True)

    async def close(self) -> None:
        await self._http.aclose()

    async def ping(self) -> None:
        await self._request("GET", "/ping")

    async def drop(self) -> None:
        """Delete the whole database (test isolation)."""
        await self._influxql(f"DROP DATABASE {_ident(self._database)}", write=True)

    async def write(self, points: Sequence[Point]) -> int:
        if not points:
            return 0
        body = "\n".join(_to_line(p) for p in points)
        await self._request(
            "POST", "/write", params={"db": self._database, "precision": "u"},
            content=body.encode(),
        )
        return len(points)

    async def query(
        self,
        measurement: str,
        start: datetime,
        end: datetime,
        tags: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Point]:
        where = [f"time >= {_literal(_rfc3339(start))}", f"time < {_literal(_rfc3339(end))}"]
        return await self._select(measurement, where, tags, "ASC", limit)

    async def last(self, measurement: str, tags: Mapping[str, str] | None = None) -> Point | None:
        points = await self._select(measurement, [], tags, "DESC", 1)
        return points[0] if points else None

    async def delete(self, measurement: str, tags: Mapping[str, str]) -> None:
        query = f"DELETE FROM {_ident(measurement)}"
        if tags:
            query += " WHERE " + " AND ".join(f"{_ident(k)} = {_literal(v)}"
                                              for k, v in tags.items())
        await self._influxql(query, write=True)

    async def _select(
        self, measurement: str, where: list[str], tags: Mapping[str, str] | None,
        order: str, limit: int | None,
    ) -> list[Point]:
        conditions = where + [f"{_ident(k)} = {_literal(v)}" for k, v in (tags or {}).items()]
        query = f"SELECT * FROM {_ident(measurement)}"
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        query += f" GROUP BY * ORDER BY time {order}"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        points: list[Point] = []
        for series in await self._influxql(query):
            series_tags = {k: v for k, v in (series.get("tags") or {}).items() if v != ""}
            columns = series["columns"]
            for values in series["values"]:
                row = dict(zip(columns, values, strict=True))
                moment = datetime.fromtimestamp(row.pop("time") / 1e6, UTC)
                fields = {k: v for k, v in row.items() if v is not None}
                points.append(Point(measurement, moment, fields, series_tags))
        points.sort(key=lambda p: p.time, reverse=order == "DESC")
        return points[:limit] if limit is not None else points
