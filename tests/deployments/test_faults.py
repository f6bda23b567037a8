"""Fault tests (issue 13) on servers each test starts on its own ports and stops by pid:
the ingress app (`create_api`, under uvicorn in a thread) keeps its promises while
PostgreSQL restarts under mutating load, and recovers from Redis stopped for 30 s without
losing a queued task. Each prints its figures (``pytest -s``)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from config.settings import Settings
from deployments.echo.service import Echo
from deployments.ingress.api import create_api
from deployments.ingress.services import LocalTransport
from storage.records.accounts import Accounts, Role
from storage.registry import open_backend
from storage.stores import Stores
from tests.services import free_port, private_postgres, private_redis

PASSWORD = "correct horse battery"


@contextmanager
def serving(settings: Settings, stores: Stores) -> Iterator[tuple[str, Any]]:
    """The ingress app under uvicorn in a thread; yields its URL and the app."""
    app = create_api(settings, stores, {"echo": LocalTransport(Echo())})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(30)


def make_user(database_url: str, username: str, role: Role) -> None:
    async def create() -> None:
        db = open_backend("database", database_url)
        await db.connect()
        await db.migrate()
        await Accounts(db).create(username, PASSWORD, role)
        await db.close()

    asyncio.run(create())


def login(url: str, username: str) -> dict[str, str]:
    response = httpx.post(f"{url}/api/v1/auth/token",
                          data={"username": username, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def stores_on(tmp: Path, warehouse: Any, database: str, keyed: str = "memory://f") -> Stores:
    return Stores(
        database=open_backend("database", database), cache=open_backend("cache", keyed),
        eventbus=open_backend("eventbus", keyed),
        timeseries=open_backend("timeseries", f"warehouse://ts_{uuid.uuid4().hex[:10]}",
                                warehouse=warehouse),
        warehouse=warehouse,
    )


@pytest.mark.timeout(300)
def test_postgres_restart_under_mutating_load(tmp_path: Path, chdb_warehouse: Any) -> None:
    """Clients create API keys while PostgreSQL restarts twice (``pg_ctl restart -m fast``):
    no 500, every 503 carries Retry-After and the request id, and every 2xx has its audit
    row (written before the response: database or durable outbox)."""
    with private_postgres() as pg:
        database = f"{pg.url}?schema=faults"
        make_user(database, "root", Role.ADMIN)
        settings = Settings(environment="test", data_dir=tmp_path,
                            rate_limit_per_minute=1_000_000, audit_retry_s=2.0)
        with serving(settings, stores_on(tmp_path, chdb_warehouse, database)) as (url, app):
            admin = login(url, "root")
            outcomes: list[tuple[str, int, str]] = []  # request id, status, retry-after
            stop = threading.Event()

            def client(n: int) -> None:
                with httpx.Client(base_url=url, headers=admin, timeout=60) as http:
                    i = 0
                    while not stop.is_set():
                        i += 1
                        rid = f"load-{n}-{i}-{uuid.uuid4().hex[:8]}"
                        response = http.post("/api/v1/apikeys", headers={"X-Request-ID": rid},
                                             json={"name": rid, "role": "viewer"})
                        outcomes.append((rid, response.status_code,
                                         response.headers.get("retry-after", "")))
                        if response.status_code == 503:
                            assert response.json()["request_id"] == rid
                            time.sleep(0.2)  # a client honouring Retry-After, sooner

            with ThreadPoolExecutor(6) as pool:
                futures = [pool.submit(client, n) for n in range(6)]
                time.sleep(3)
                started = time.monotonic()
                pg.restart()
                time.sleep(3)
                pg.restart()
                restarts_s = time.monotonic() - started - 3
                time.sleep(3)
                stop.set()
                for future in futures:
                    future.result()
            ctx = app.state.ctx
            in_outbox = len(ctx.audit_writer.outbox.pending())
            # The drainer moves the outbox into the database on its next round.
            deadline = time.monotonic() + 30
            while ctx.audit_writer.outbox.pending() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert ctx.audit_writer.outbox.pending() == []

        async def audited() -> dict[str, int]:
            db = open_backend("database", database)
            rows = await db.fetch("SELECT request_id, status FROM audit_log WHERE method = 'POST'"
                                  " AND path = '/api/v1/apikeys'")
            await db.close()
            return {row["request_id"]: row["status"] for row in rows}

        rows = asyncio.run(audited())
    statuses = Counter(status for _, status, _ in outcomes)
    ok = [rid for rid, status, _ in outcomes if 200 <= status < 300]
    missing = [rid for rid in ok if rows.get(rid) != 201]
    print(f"\nPostgreSQL restart x2 ({restarts_s:.1f} s) under 6 clients: {len(outcomes)}"
          f" requests, statuses {dict(statuses)}, audit rows {len(rows)}, via outbox"
          f" {in_outbox}, 2xx without an audit row {len(missing)}")
    assert ok and not missing
    assert set(statuses) <= {201, 503}, statuses
    assert all(ra.isdigit() for _, status, ra in outcomes if status == 503)


@pytest.mark.timeout(300)
def test_redis_stopped_30s_recovers_and_keeps_queued_tasks(
    tmp_path: Path, chdb_warehouse: Any
) -> None:
    """Cache and event bus on a private Redis (append-only file): tasks queued before the
    outage are all still there after it; during it requests are 503 with Retry-After (once
    the replica's copy of the revocation entries, at most ``revocation_max_age_s`` old, is
    too old to answer from); after it the same app (no restart) answers 2xx again."""
    with private_redis(tmp_path) as redis:
        keyed = f"{redis.url}?prefix=f:"
        database = f"sqlite:///{tmp_path}/db.sqlite"
        make_user(database, "root", Role.ADMIN)
        settings = Settings(environment="test", data_dir=tmp_path,
                            rate_limit_per_minute=1_000_000, audit_retry_s=0.5)
        stores = stores_on(tmp_path, chdb_warehouse, database, keyed)
        with serving(settings, stores) as (url, _app):
            admin = login(url, "root")

            async def enqueue(n: int) -> list[str]:
                bus = open_backend("eventbus", keyed)  # a producer's own connection
                ids = [await bus.enqueue("faults", {"n": i}) for i in range(n)]
                await bus.close()
                return ids

            queued = asyncio.run(enqueue(50))
            assert httpx.get(f"{url}/api/v1/users", headers=admin).status_code == 200
            redis.stop()
            down_at = time.monotonic()
            during: Counter[int] = Counter()
            while time.monotonic() - down_at < 30:
                asked_at = time.monotonic() - down_at
                response = httpx.get(f"{url}/api/v1/users", headers=admin, timeout=30)
                if asked_at < settings.revocation_max_age_s:
                    assert response.status_code in (200, 503), response.text
                    continue  # the copy of the revocation entries may still answer
                during[response.status_code] += 1
                if response.status_code == 503:
                    assert response.headers["retry-after"].isdigit()
                    assert response.json()["request_id"] == response.headers["x-request-id"]
                time.sleep(1)
            redis.start()
            recovered_at = time.monotonic()
            while httpx.get(f"{url}/api/v1/users", headers=admin,
                            timeout=30).status_code != 200:
                assert time.monotonic() - recovered_at < 30, "the app did not recover"
                time.sleep(0.2)
            recovery_s = time.monotonic() - recovered_at
            after = httpx.post(f"{url}/api/v1/apikeys", headers=admin,
                               json={"name": "after", "role": "viewer"})
            assert after.status_code == 201, after.text

            async def drain() -> list[int]:
                bus = open_backend("eventbus", keyed)  # a worker's
                got = []
                while (task := await bus.claim("faults", "w1", 60)) is not None:
                    got.append(task.payload["n"])
                    await bus.ack(task)
                await bus.close()
                return got

            claimed = asyncio.run(drain())
    print(f"\nRedis stopped 30 s: during it {dict(during)}; 2xx again {recovery_s:.2f} s after"
          f" the start; queued {len(queued)}, claimed after {len(claimed)}")
    assert set(during) == {503}, during
    assert sorted(claimed) == list(range(50))


def test_event_bus_recovers_from_a_redis_that_lost_its_data(tmp_path: Path) -> None:
    """A Redis restarted without persistence has no consumer group: claims make it again
    rather than failing until the process restarts."""
    with private_redis(tmp_path) as redis:
        async def scenario() -> tuple[Any, Any]:
            bus = open_backend("eventbus", redis.url)
            await bus.enqueue("q", {"n": 1})
            await bus.ack(await bus.claim("q", "w", 5))
            await bus._redis.flushall()  # what a restart without persistence leaves
            empty = await bus.claim("q", "w", 5)
            await bus.enqueue("q", {"n": 2})
            task = await bus.claim("q", "w", 5)
            await bus.close()
            return empty, task

        empty, task = asyncio.run(scenario())
    assert empty is None and task.payload == {"n": 2}
