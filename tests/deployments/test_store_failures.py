"""A store that cannot be reached is a 503 with a JSON error, the request id and
``Retry-After`` (issue 13), never a 500 with request id "-"; what is left a 500 carries
the request id too. PostgreSQL here is a private server this module starts on its own
port and stops by pid."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from deployments.ingress.roles import Role
from storage.errors import StoreUnavailableError
from storage.registry import open_backend
from tests.deployments.conftest import Api, make_stores
from tests.services import PrivatePostgres, private_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


def assert_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["detail"] and body["request_id"] == response.headers["x-request-id"] != "-"
    assert int(response.headers["retry-after"]) > 0


def test_postgres_down_is_503_then_recovers(
    make_api: Callable[..., Api], postgres: PrivatePostgres, tmp_path: Any,
    chdb_warehouse: Any,
) -> None:
    stores = make_stores(tmp_path, chdb_warehouse, database_url=f"{postgres.url}?schema=down")
    api = make_api(stores=stores, audit_retry_s=0.2)
    api.make_user("root", Role.ADMIN)
    admin = api.bearer("root")
    assert api.client.get("/api/v1/users", headers=admin).status_code == 200
    postgres.stop()
    try:
        assert_503(api.client.get("/api/v1/users", headers=admin))
        assert_503(api.client.post("/api/v1/users", headers=admin,
                                   json={"username": "dave", "password": "long enough pw"}))
        assert_503(api.client.post("/api/v1/auth/token",
                                   data={"username": "root", "password": "x" * 12}))
    finally:
        postgres.start()
    created = api.client.post("/api/v1/users", headers=admin,
                              json={"username": "dave", "password": "long enough pw"})
    assert created.status_code == 201, created.text


def test_connection_dropped_mid_query_is_unavailable(postgres: PrivatePostgres) -> None:
    async def scenario() -> None:
        db = open_backend("database", postgres.url)
        admin = open_backend("database", postgres.url)
        await db.connect()
        try:
            query = asyncio.create_task(db.fetch("SELECT pg_sleep(20), 1 AS one"))
            for _ in range(100):
                pids = await admin.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%'")
                if pids:
                    break
                await asyncio.sleep(0.05)
            await admin.fetch("SELECT pg_terminate_backend($1)", pids[0]["pid"])
            with pytest.raises(StoreUnavailableError):
                await query
            assert await db.fetchval("SELECT 1") == 1  # the pool replaced the connection
        finally:
            await db.close()
            await admin.close()

    asyncio.run(scenario())


def test_unexpected_failure_is_500_with_the_request_id(make_api: Callable[..., Api]) -> None:
    api = make_api()
    api.make_user("root", Role.ADMIN)
    admin = api.bearer("root")
    api.run(api.ctx.stores.database.execute, "DROP TABLE audit_log")
    response = api.client.get("/api/v1/audit", headers=admin)
    assert response.status_code == 500
    body = response.json()
    assert body == {"detail": "internal error", "request_id": response.headers["x-request-id"]}
    assert body["request_id"] != "-"
