"""Cache on Redis through redis-py's asyncio client (URL format: `storage.redis_base`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.cache.base import Cache, RateDecision, decide
from storage.redis_base import RedisBacked, translated

_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisCache(RedisBacked, Cache):
    def __init__(self, client: Any, prefix: str = "") -> None:
        super().__init__(client, prefix)
        self._delete_if_equal = client.register_script(_DELETE_IF_EQUAL)

    def _k(self, key: str) -> str:
        return self._prefix + key

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

    @translated
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
    def _queue_window(pipe: Any, key: str, window_s: float, amount: int = 1) -> None:
        pipe.incrby(key, amount)
        pipe.pexpire(key, max(1, int(window_s * 1000)), nx=True)
        pipe.pttl(key)

    @translated
    async def incr_window(self, key: str, window_s: float, amount: int = 1) -> tuple[int, float]:
        k = self._k(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            self._queue_window(pipe, k, window_s, amount)
            count, _, pttl = await self._call(pipe.execute())
        return int(count), max(pttl, 0) / 1000
