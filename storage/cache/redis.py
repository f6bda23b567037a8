"""Cache on Redis through redis-py's asyncio client.

URL format: ``redis://host:6379/0`` (``rediss://`` for TLS); an optional
``?prefix=NAME:`` puts every key under a namespace (the tests use it for isolation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.cache.base import Cache, RateDecision, decide
from storage.errors import StoreUnavailableError

_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def split_prefix(url: str) -> tuple[str, str]:
    """(url without ``prefix``, prefix) — shared by the Redis cache and event bus."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    prefix = query.pop("prefix", "")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")), prefix


def client_from_url(url: str) -> Any:
    return aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=3)


UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisCache(Cache):
    def __init__(self, client: Any, prefix: str = "") -> None:
        self._redis = client
        self._prefix = prefix
        self._delete_if_equal = client.register_script(_DELETE_IF_EQUAL)

    @classmethod
    def from_url(cls, url: str) -> RedisCache:
        base, prefix = split_prefix(url)
        return cls(client_from_url(base), prefix)

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except UNAVAILABLE as exc:
            raise StoreUnavailableError(f"Redis unreachable: {exc}") from exc

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except UNAVAILABLE as exc:
            raise StoreUnavailableError(f"Redis unreachable: {exc}") from exc

    async def get(self, key: str) -> bytes | None:
        return await self._call(self._redis.get(self._k(key)))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        return list(await self._call(self._redis.mget([self._k(k) for k in keys])))

    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        await self._call(self._redis.set(self._k(key), value, px=px))

    async def set_if_absent(self, key: str, value: bytes, ttl_s: float) -> bool:
        px = max(1, int(ttl_s * 1000))
        return bool(await self._call(self._redis.set(self._k(key), value, px=px, nx=True)))

    async def delete(self, key: str, *, if_value: bytes | None = None) -> bool:
        if if_value is None:
            return bool(await self._call(self._redis.delete(self._k(key))))
        return bool(await self._call(self._delete_if_equal(keys=[self._k(key)], args=[if_value])))

    async def get_many_and_hit(
        self, keys: Sequence[str], rate_key: str, limit: int, window_s: float
    ) -> tuple[list[bytes | None], RateDecision]:
        k = self._k(f"rate:{rate_key}")
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.mget([self._k(key) for key in keys])
            self._queue_window(pipe, k, window_s)
            values, count, _, pttl = await self._call(pipe.execute())
        return list(values), decide(int(count), limit, max(pttl, 0) / 1000)

    @staticmethod
    def _queue_window(pipe: Any, key: str, window_s: float) -> None:
        pipe.incr(key)
        pipe.pexpire(key, max(1, int(window_s * 1000)), nx=True)
        pipe.pttl(key)

    async def incr_window(self, key: str, window_s: float) -> tuple[int, float]:
        k = self._k(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            self._queue_window(pipe, k, window_s)
            count, _, pttl = await self._call(pipe.execute())
        return int(count), max(pttl, 0) / 1000
