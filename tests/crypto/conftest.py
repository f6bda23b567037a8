"""Stores for the crypto integration tests: SQLite, in-memory cache and bus, and the session's
chDB warehouse with tables of this test's own (candles and time series)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from deployments.crypto.service import CryptoService
from storage.stores import Stores
from tests.deployments.conftest import make_stores


@pytest.fixture
async def crypto_stores(tmp_path: Path, chdb_warehouse: Any) -> AsyncIterator[Stores]:
    stores = make_stores(tmp_path, chdb_warehouse)
    await stores.database.connect()
    await stores.database.migrate()
    yield stores
    await stores.database.close()  # the warehouse is the session's: left open


@pytest.fixture
async def make_service(
    tmp_path: Path, crypto_stores: Stores
) -> AsyncIterator[Callable[..., CryptoService]]:
    """``make_service(**settings)``: the service core on ``crypto_stores`` (refresh_s 0)."""
    made: list[CryptoService] = []
    table = f"crypto_candles_{uuid.uuid4().hex[:10]}"

    def factory(**overrides: Any) -> CryptoService:
        settings = Settings(
            environment="test", data_dir=tmp_path, **{"crypto_refresh_s": 0.0, **overrides}
        )
        service = CryptoService(settings, crypto_stores, table=table)
        made.append(service)
        return service

    yield factory
    for service in made:
        await service.close()
