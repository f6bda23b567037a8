"""One registry that maps a store URL's scheme to the backend that serves it.

Backends are imported only when a URL of theirs is opened, so importing this module
does no work and pulls in no drivers. Unknown schemes raise `UnsupportedURLError`
naming the valid ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from storage.errors import UnsupportedURLError

Kind = Literal["database", "cache", "eventbus", "timeseries", "warehouse"]


@dataclass(frozen=True)
class BackendSpec:
    """Where a backend lives: `module:Class`, whose `from_url(url, **deps)` builds it."""

    target: str
    process_bound: bool = False
    """True when the backend's state lives in the opening process (embedded stores):
    under Ray it must be owned by one actor and reached through a proxy."""

    def load(self) -> Callable[..., Any]:
        module_name, _, attr = self.target.partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        return cls.from_url


BACKENDS: dict[Kind, dict[str, BackendSpec]] = {
    "database": {
        "postgresql": BackendSpec("storage.database.postgres:PostgresDatabase"),
        "postgres": BackendSpec("storage.database.postgres:PostgresDatabase"),
        "sqlite": BackendSpec("storage.database.sqlite:SqliteDatabase"),
    },
    "cache": {
        "redis": BackendSpec("storage.cache.redis:RedisCache"),
        "rediss": BackendSpec("storage.cache.redis:RedisCache"),
        "memory": BackendSpec("storage.cache.memory:MemoryCache", process_bound=True),
    },
    "eventbus": {
        "redis": BackendSpec("storage.eventbus.redis:RedisEventBus"),
        "rediss": BackendSpec("storage.eventbus.redis:RedisEventBus"),
        "memory": BackendSpec("storage.eventbus.memory:MemoryEventBus", process_bound=True),
    },
    "timeseries": {
        "influxdb": BackendSpec("storage.timeseries.influx:InfluxTimeSeries"),
        "influxdbs": BackendSpec("storage.timeseries.influx:InfluxTimeSeries"),
        "warehouse": BackendSpec("storage.timeseries.warehouse:WarehouseTimeSeries"),
    },
    "warehouse": {
        "clickhouse": BackendSpec("storage.warehouse.clickhouse:ClickHouseWarehouse"),
        "clickhouses": BackendSpec("storage.warehouse.clickhouse:ClickHouseWarehouse"),
        "chdb": BackendSpec("storage.warehouse.clickhouse:ClickHouseWarehouse", process_bound=True),
    },
}


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def spec_for(kind: Kind, url: str) -> BackendSpec:
    """The backend spec for `url`, or `UnsupportedURLError` naming the valid schemes."""
    specs = BACKENDS[kind]
    spec = specs.get(scheme_of(url))
    if spec is None:
        raise UnsupportedURLError(kind, url, sorted(specs))
    return spec


def open_backend(kind: Kind, url: str, **deps: Any) -> Any:
    """Build the backend of `kind` for `url` in this process (not connected yet:
    call its `connect()` before use)."""
    return spec_for(kind, url).load()(url, **deps)
