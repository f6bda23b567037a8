"""Parametrised store fixtures: every contract test runs against every backend of its
kind — real servers (PostgreSQL, Redis, InfluxDB) and the embedded defaults, both
in-process and owned by a Ray actor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage.errors import StoreUnavailableError
from storage.hosted import hosted, stop_owners
from storage.registry import Kind, open_backend
from storage.warehouse.base import Warehouse
from tests.conftest import postgres_url, redis_url
from tests.support import missing


def _unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def _connected(store: Any, what: str) -> Any:
    try:
        await store.connect()
        await store.ping()
    except StoreUnavailableError as exc:
        missing(f"{what} not reachable: {exc}")
    return store


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "sqlite":
        db = open_backend("database", f"sqlite:///{tmp_path}/test.db")
    else:
        sep = "&" if "?" in postgres_url() else "?"
        db = open_backend("database", f"{postgres_url()}{sep}schema={_unique()}")
    await _connected(db, request.param)
    await db.migrate()
    yield db
    if request.param == "postgresql":
        await db.drop_schema()
    await db.close()


async def _hosted(request: pytest.FixtureRequest, kind: Kind) -> Any:
    request.getfixturevalue("ray_session")
    url = f"memory://{_unique()}"
    request.addfinalizer(lambda: stop_owners([(kind, url)]))
    return hosted(kind, url)


async def _keyed_store(request: pytest.FixtureRequest, kind: Kind) -> Any:
    """The cache or event bus named by the fixture's param (memory, actor-owned, Redis)."""
    if request.param == "memory":
        return open_backend(kind, "memory://test")
    if request.param == "redis":
        return open_backend(kind, f"{redis_url()}?prefix={_unique()}:")
    return await _hosted(request, kind)


@pytest.fixture(params=["memory", "memory-on-ray-actor", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    store = await _keyed_store(request, "cache")
    yield await _connected(store, request.param)
    await store.close()


@pytest.fixture(params=["memory", "memory-on-ray-actor", "redis"])
async def eventbus(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    store = await _keyed_store(request, "eventbus")
    yield await _connected(store, request.param)
    await store.close()


@pytest.fixture(params=["chdb", "chdb-on-ray-actor"])
async def warehouse(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Any]:
    if request.param == "chdb":
        store: Any = request.getfixturevalue("chdb_warehouse")
    else:
        request.getfixturevalue("ray_session")
        url = f"chdb://{tmp_path}/wh"
        request.addfinalizer(lambda: stop_owners([("warehouse", url)]))
        store = hosted("warehouse", url)
    yield await _connected(store, request.param)


@pytest.fixture(params=["influxdb", "warehouse-chdb"])
async def timeseries(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "influxdb":
        base = request.getfixturevalue("influx_url").replace("http://", "influxdb://")
        store = open_backend("timeseries", f"{base}/{_unique('db')}")
        await _connected(store, "influxdb")
        yield store
        await store.drop()
        await store.close()
    else:
        chdb: Warehouse = request.getfixturevalue("chdb_warehouse")
        store = open_backend("timeseries", f"warehouse://{_unique('ts')}", warehouse=chdb)
        yield await _connected(store, "warehouse timeseries")
