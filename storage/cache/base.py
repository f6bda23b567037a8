"""The Cache kind: keys with expiry, plus what is built on them — fixed-window rate
limits, locks with a TTL, and sessions (`storage.cache.sessions`).

Backends implement six primitives; locks and rate limits are defined here once on top
of them, so every backend has the same semantics.
"""

from __future__ import annotations

import json
import math
import secrets
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.base import Store


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    limit: int
    retry_after_s: int
    """Whole seconds until the window resets (0 when allowed)."""


def decide(count: int, limit: int, window_left_s: float) -> RateDecision:
    allowed = count <= limit
    retry = 0 if allowed else max(1, math.ceil(window_left_s))
    return RateDecision(allowed, count, limit, retry)


class Cache(Store):
    @abstractmethod
    async def get(self, key: str) -> bytes | None:
        ...

    @abstractmethod
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        ...

    @abstractmethod
    async def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        ...

    @abstractmethod
    async def set_if_absent(self, key: str, value: bytes, ttl_s: float) -> bool:
        """Atomically store `value` unless `key` exists; True when stored."""

    @abstractmethod
    async def delete(self, key: str, *, if_value: bytes | None = None) -> bool:
        """Remove `key` (only when it holds `if_value`, if given, atomically)."""

    @abstractmethod
    async def incr_window(self, key: str, window_s: float, amount: int = 1) -> tuple[int, float]:
        """Add `amount` (>= 1) to a counter that expires `window_s` after its first
        increment; returns (count, seconds until it expires)."""

    async def get_json(self, key: str) -> Any:
        raw = await self.get(key)
        return None if raw is None else json.loads(raw)

    async def set_json(self, key: str, value: Any, ttl_s: float | None = None) -> None:
        await self.set(key, json.dumps(value, separators=(",", ":")).encode(), ttl_s)

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        """Count one request against `limit` per `window_s` (fixed window)."""
        count, remaining = await self.incr_window(f"rate:{key}", window_s)
        return decide(count, limit, remaining)

    async def get_many_and_hit(
        self, keys: Sequence[str], rate_key: str, limit: int, window_s: float
    ) -> tuple[list[bytes | None], RateDecision]:
        """`get_many(keys)` and `hit(rate_key, ...)` together — one round trip on
        backends that can (Redis pipeline, one call to an owning actor). The per-request
        auth path uses it: revocation lookups plus the caller's rate limit."""
        return await self.get_many(keys), await self.hit(rate_key, limit, window_s)

    async def acquire_lock(self, name: str, ttl_s: float) -> str | None:
        """Take the lock `name` for at most `ttl_s`; returns a token, or None if held."""
        token = secrets.token_hex(16)
        return token if await self.set_if_absent(f"lock:{name}", token.encode(), ttl_s) else None

    async def release_lock(self, name: str, token: str) -> bool:
        """Release the lock if this token still holds it (not after it expired and
        another holder took it)."""
        return await self.delete(f"lock:{name}", if_value=token.encode())
