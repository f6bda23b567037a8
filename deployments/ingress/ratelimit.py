"""Per-caller rate limits counted in the replica, against the shared fixed window on the
Cache kind (`Cache.incr_window`), by reservation: a replica takes up to ``block`` units
of the caller's window at once and admits that many requests without asking the store
again.

What holds across replicas, within each window of the store:
- never more than ``limit`` requests admitted in all: every admitted request was counted
  in the store first, a grant is cut to what is left under the limit, and reserved units
  expire in the replica no later than the store's window ends (their deadline is taken
  from a clock read before the store was asked);
- a caller may be refused (429) while up to ``block - 1`` reserved, unused units sit in
  each *other* replica: the slack is at most ``(replicas - 1) * (block - 1)`` requests
  per window, on the side of refusing.

The block is ``min(rate_limit_block, limit // 50)``, at least 1: a limit of 600 a minute
reserves 10 at a time; a limit under 100 a minute counts every request in the store, as
before. Once the store says the window is spent, the replica refuses until it ends
without asking again (the count only grows until then).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from storage.cache.base import Cache, RateDecision


@dataclass
class _Grant:
    left: int = 0
    until: float = 0.0
    """Monotonic time the reserved units (or a refusal) are good until."""
    refused: bool = False
    count: int = 0


def block_for(limit: int, max_block: int) -> int:
    return max(1, min(max_block, limit // 50))


class ReservingRateLimiter:
    def __init__(self, cache: Cache, max_block: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._cache = cache
        self._max_block = max_block
        self._clock = clock
        self._grants: dict[str, _Grant] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        """Count one request of `key` against `limit` per `window_s`."""
        decision = self._local(key, limit)
        if decision is not None:
            return decision
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            decision = self._local(key, limit)  # another request may have reserved
            if decision is not None:
                return decision
            return await self._reserve(key, limit, window_s)

    def _local(self, key: str, limit: int) -> RateDecision | None:
        grant = self._grants.get(key)
        now = self._clock()
        if grant is None or now >= grant.until:
            return None
        if grant.refused:
            return RateDecision(False, grant.count, limit, max(1, math.ceil(grant.until - now)))
        if grant.left > 0:
            grant.left -= 1
            return RateDecision(True, grant.count, limit, 0)
        return None

    async def _reserve(self, key: str, limit: int, window_s: float) -> RateDecision:
        block = block_for(limit, self._max_block)
        asked_at = self._clock()
        count, remaining_s = await self._cache.incr_window(f"rate:{key}", window_s, block)
        granted = max(0, min(block, limit - (count - block)))
        until = asked_at + remaining_s
        if len(self._grants) > 100_000:
            self._forget_expired(asked_at)
        if granted == 0:
            self._grants[key] = _Grant(0, until, refused=True, count=count)
            return RateDecision(False, count, limit, max(1, math.ceil(remaining_s)))
        self._grants[key] = _Grant(granted - 1, until, count=count - block + granted)
        return RateDecision(True, count - block + 1, limit, 0)

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, g in self._grants.items() if now >= g.until]:
            del self._grants[key]
            self._locks.pop(key, None)
