"""Cache in this process's memory — the embedded default.

URL format: ``memory://NAME``. State lives in the opening process, so under Ray one
actor owns it and every worker reaches it through that actor (`storage.hosted`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from storage.cache.base import Cache


class MemoryCache(Cache):
    def __init__(self, max_keys: int = 1_000_000) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._max_keys = max_keys
        self._writes = 0

    @classmethod
    def from_url(cls, url: str) -> MemoryCache:
        return cls()

    async def ping(self) -> None:
        return None

    def _live(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    def _store(self, key: str, value: bytes, ttl_s: float | None) -> None:
        self._writes += 1
        if self._writes % 1024 == 0 or len(self._data) >= self._max_keys:
            self._sweep()
        expires = None if ttl_s is None else time.monotonic() + ttl_s
        self._data[key] = (value, expires)

    def _sweep(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, e) in self._data.items() if e is not None and e <= now]:
            del self._data[key]

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._live(k) for k in keys]

    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        self._store(key, value, ttl_s)

    async def set_if_absent(self, key: str, value: bytes, ttl_s: float) -> bool:
        if self._live(key) is not None:
            return False
        self._store(key, value, ttl_s)
        return True

    async def delete(self, key: str, *, if_value: bytes | None = None) -> bool:
        current = self._live(key)
        if current is None or (if_value is not None and current != if_value):
            return False
        del self._data[key]
        return True

    async def incr_window(self, key: str, window_s: float, amount: int = 1) -> tuple[int, float]:
        now = time.monotonic()
        current = self._live(key)
        if current is None:
            self._store(key, str(amount).encode(), window_s)
            return amount, window_s
        _, expires = self._data[key]
        count = int(current) + amount
        self._data[key] = (str(count).encode(), expires)
        return count, (expires - now) if expires is not None else window_s
