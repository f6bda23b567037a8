"""The TimeSeries kind: points (measurement, tags, fields, time) for market data and
telemetry. A point is identified by measurement + tags + time; writing it again
replaces its fields. Times are timezone-aware UTC datetimes (microsecond precision)."""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from storage.base import Store

FieldValue = float | int | str | bool
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True)
class Point:
    measurement: str
    time: datetime
    fields: Mapping[str, FieldValue]
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self.measurement)
        for key in (*self.tags, *self.fields):
            check_name(key)
        if not self.fields:
            raise ValueError("a point needs at least one field")
        if self.time.tzinfo is None:
            raise ValueError("point time must be timezone-aware")
        object.__setattr__(self, "time", self.time.astimezone(UTC))


def check_name(name: str) -> str:
    """Measurement, tag and field names: letters, digits, ``_.-``; no quoting games."""
    if not _NAME.match(name):
        raise ValueError(f"invalid time-series name {name!r}")
    return name


class TimeSeries(Store):
    @abstractmethod
    async def write(self, points: Sequence[Point]) -> int:
        """Store points; returns how many."""

    @abstractmethod
    async def query(
        self,
        measurement: str,
        start: datetime,
        end: datetime,
        tags: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Point]:
        """Points with start <= time < end whose tags include `tags`, oldest first."""

    @abstractmethod
    async def last(self, measurement: str, tags: Mapping[str, str] | None = None) -> Point | None:
        """The newest point matching `tags`."""

    @abstractmethod
    async def delete(self, measurement: str, tags: Mapping[str, str]) -> None:
        """Remove every point of ``measurement`` whose tags include ``tags`` (e.g. candles
        of a data source that was replaced)."""
