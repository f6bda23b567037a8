"""What the ingress keeps in each replica and what must still hold across replicas:
revoked tokens are refused by every replica within ``revocation_max_age_s`` (at once when
the EventBus message arrives), and rate limits counted by reservation never admit more
than the limit across replicas, refusing early by at most the stated slack."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deployments.ingress.ratelimit import ReservingRateLimiter, block_for
from deployments.ingress.revocation import Revocations
from deployments.ingress.roles import Role
from storage.cache.memory import MemoryCache
from storage.eventbus.memory import MemoryEventBus
from storage.registry import open_backend
from storage.stores import Stores
from tests.conftest import redis_url
from tests.deployments.conftest import Api
from tests.deployments.ocr_replicas import require_servers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _eventually(check: Callable[[], Any], timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.02)


async def test_revocation_reaches_the_other_replica_by_message() -> None:
    cache, bus = MemoryCache(), MemoryEventBus()
    a = Revocations(cache, bus, max_age_s=60.0)  # the bound is far: only the message can do it
    b = Revocations(cache, bus, max_age_s=60.0)
    listener = asyncio.create_task(b.listen())
    try:
        await asyncio.sleep(0.05)  # subscribed
        assert await b.lookup("t1", "u1") == (None, None)  # cached as "not revoked"
        await a.revoke_token("t1", 60.0)

        async def refused() -> bool:
            return (await b.lookup("t1", "u1"))[0] is not None

        await _eventually(refused, timeout_s=2.0)
        await a.revoke_user("u2", 60.0)

        async def user_refused() -> bool:
            return (await b.lookup("t9", "u2"))[1] is not None

        await _eventually(user_refused, timeout_s=2.0)
    finally:
        listener.cancel()


async def test_revocation_holds_within_max_age_when_the_message_is_lost() -> None:
    cache, clock = MemoryCache(), Clock()
    a = Revocations(cache, MemoryEventBus(), max_age_s=1.0, clock=clock)
    b = Revocations(cache, MemoryEventBus(), max_age_s=1.0, clock=clock)  # hears nothing
    reads = 0
    get_many = cache.get_many

    async def counted(keys: Any) -> Any:
        nonlocal reads
        reads += 1
        return await get_many(keys)

    cache.get_many = counted  # type: ignore[method-assign]
    assert await b.lookup("t1", "u1") == (None, None)
    assert await b.lookup("t1", "u1") == (None, None)
    assert reads == 1  # the copy answers the second time
    await a.revoke_token("t1", 60.0)
    clock.now += 0.9
    assert (await b.lookup("t1", "u1"))[0] is None  # stale, but inside the bound
    clock.now += 0.1
    assert (await b.lookup("t1", "u1"))[0] == b"1"  # the bound reached: read again, refused


async def test_max_age_zero_reads_the_store_every_time() -> None:
    cache = MemoryCache()
    b = Revocations(cache, MemoryEventBus(), max_age_s=0.0)
    assert await b.lookup("t1", "u1") == (None, None)
    await cache.set("revoked:jti:t1", b"1")
    assert (await b.lookup("t1", "u1"))[0] == b"1"


def test_logout_on_one_replica_is_refused_by_the_other(
    make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any
) -> None:
    """Two ingress apps (two replicas: their own event loops and store connections) on
    one Redis cache and bus; a generous max age, so the refusal is the message's doing."""
    require_servers()
    prefix = f"{redis_url()}?prefix=rev_{uuid.uuid4().hex[:10]}:"

    def stores(name: str) -> Stores:
        return Stores(
            database=open_backend("database", f"sqlite:///{tmp_path}/{name}.sqlite"),
            cache=open_backend("cache", prefix), eventbus=open_backend("eventbus", prefix),
            timeseries=open_backend("timeseries", f"warehouse://ts_{uuid.uuid4().hex[:10]}",
                                    warehouse=chdb_warehouse),
            warehouse=chdb_warehouse)

    a = make_api(stores=stores("a"), revocation_max_age_s=30.0)
    b = make_api(stores=stores("b"), revocation_max_age_s=30.0)
    a.make_user("viewer", Role.VIEWER)
    headers = a.bearer("viewer")
    assert b.client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert a.client.post("/api/v1/auth/logout", headers=headers).status_code in (200, 204)

    async def refused() -> bool:
        return b.client.get("/api/v1/auth/me", headers=headers).status_code == 401

    asyncio.run(_eventually(refused, timeout_s=5.0))
    assert a.client.get("/api/v1/auth/me", headers=headers).status_code == 401


@pytest.mark.parametrize("limit", [3, 49, 500, 5000])
async def test_reserved_rate_limits_hold_across_replicas(limit: int) -> None:
    cache = MemoryCache()
    replicas = [ReservingRateLimiter(cache, max_block=10) for _ in range(3)]
    rng = random.Random(limit)
    decisions = [await rng.choice(replicas).hit("user:u", limit, 60.0)
                 for _ in range(limit * 2 + 50)]
    admitted = sum(d.allowed for d in decisions)
    block = block_for(limit, 10)
    slack = (len(replicas) - 1) * (block - 1)
    assert limit - slack <= admitted <= limit
    if block == 1:
        assert admitted == limit  # small limits are exact
    refused = [d for d in decisions if not d.allowed]
    assert refused and all(1 <= d.retry_after_s <= 60 for d in refused)


async def test_reserved_rate_limit_concurrent_requests_never_exceed() -> None:
    cache = MemoryCache()
    replicas = [ReservingRateLimiter(cache, max_block=10) for _ in range(2)]
    results = await asyncio.gather(*(replicas[i % 2].hit("user:u", 600, 60.0)
                                     for i in range(1000)))
    admitted = sum(d.allowed for d in results)
    assert 600 - 9 <= admitted <= 600


async def test_reservations_end_with_the_stores_window() -> None:
    cache, clock = MemoryCache(), Clock()
    limiter = ReservingRateLimiter(cache, max_block=10, clock=clock)
    assert (await limiter.hit("user:u", 500, 0.2)).allowed  # reserves 10 for 0.2 s
    clock.now += 0.3  # past the window: the 9 units left must not be used
    await asyncio.sleep(0.25)  # the store's window ends too
    assert (await limiter.hit("user:u", 500, 0.2)).allowed
    assert (await cache.incr_window("rate:user:u", 0.2, 0))[0] == 10  # reserved in a new window


def test_in_replica_services_setting_admits_only_cheap_services() -> None:
    from pydantic import ValidationError

    from config.settings import Settings

    assert Settings(environment="test").in_replica_services == frozenset()
    on = Settings(environment="test", ingress_in_replica_services=" echo, ")
    assert on.in_replica_services == frozenset({"echo"})
    with pytest.raises(ValidationError, match="only these services"):
        Settings(environment="test", ingress_in_replica_services="echo,ocr")
