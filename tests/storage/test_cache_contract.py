"""Cache contract: values with expiry, atomic set-if-absent, locks, rate limits,
sessions — identical on every backend."""

from __future__ import annotations

import asyncio
from typing import Any

from storage.cache.sessions import SessionStore


async def test_get_set_delete(cache: Any) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    assert await cache.get_many(["k", "missing"]) == [b"v", None]
    assert await cache.delete("k") is True
    assert await cache.delete("k") is False
    assert await cache.get("k") is None


async def test_values_expire(cache: Any) -> None:
    await cache.set("short", b"1", ttl_s=0.2)
    assert await cache.get("short") == b"1"
    await asyncio.sleep(0.35)
    assert await cache.get("short") is None


async def test_json_helpers(cache: Any) -> None:
    await cache.set_json("doc", {"a": [1, 2], "b": None})
    assert await cache.get_json("doc") == {"a": [1, 2], "b": None}


async def test_set_if_absent_is_exclusive(cache: Any) -> None:
    results = await asyncio.gather(*(cache.set_if_absent("once", b"x", 5) for _ in range(10)))
    assert sum(results) == 1


async def test_lock_ttl_and_owner_only_release(cache: Any) -> None:
    token = await cache.acquire_lock("job", ttl_s=0.3)
    assert token is not None
    assert await cache.acquire_lock("job", ttl_s=0.3) is None
    assert await cache.release_lock("job", "not-the-token") is False
    await asyncio.sleep(0.45)  # expired: someone else may take it
    other = await cache.acquire_lock("job", ttl_s=5)
    assert other is not None
    assert await cache.release_lock("job", token) is False  # stale holder cannot release
    assert await cache.release_lock("job", other) is True


async def test_incr_window_by_an_amount(cache: Any) -> None:
    """Reservations (deployments/ingress/ratelimit.py) add a block at once."""
    count, left = await cache.incr_window("rate:block", 5.0, 10)
    assert count == 10 and 0 < left <= 5.0
    assert (await cache.incr_window("rate:block", 5.0, 7))[0] == 17
    assert (await cache.incr_window("rate:block", 5.0))[0] == 18


async def test_rate_limit_window(cache: Any) -> None:
    decisions = [await cache.hit("user-1", limit=3, window_s=1.0) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert decisions[-1].retry_after_s >= 1
    assert (await cache.hit("user-2", limit=3, window_s=1.0)).allowed
    await asyncio.sleep(1.1)
    assert (await cache.hit("user-1", limit=3, window_s=1.0)).allowed


async def test_sessions(cache: Any) -> None:
    sessions = SessionStore(cache, ttl_s=0.4)
    sid = await sessions.create({"user": "ann"})
    assert await sessions.load(sid) == {"user": "ann"}
    await asyncio.sleep(0.25)
    assert await sessions.load(sid) == {"user": "ann"}  # renewed on load
    await asyncio.sleep(0.25)
    assert await sessions.load(sid) == {"user": "ann"}
    assert await sessions.destroy(sid)
    assert await sessions.load(sid) is None


async def test_get_many_and_hit_in_one_call(cache: Any) -> None:
    await cache.set("revoked:x", b"1")
    for expected in (True, True, False):
        values, decision = await cache.get_many_and_hit(["revoked:x", "nope"], "u", 2, 5.0)
        assert values == [b"1", None]
        assert decision.allowed is expected
    assert (await cache.hit("u", 2, 5.0)).count == 4  # same counter as hit()
