"""A lease kept alive while a body runs: ``renew`` is called every ``period_s`` in a
background task that ends with the body. A failed renewal is logged, never raised (the
next one may succeed; a lease that lapses is the reaper's to handle)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def beating(renew: Callable[[], Awaitable[object]], period_s: float,
                  what: str = "lease") -> AsyncIterator[None]:
    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(period_s)
            try:
                await renew()
            except Exception:
                log.exception("renewing the %s failed", what)

    beat = asyncio.get_running_loop().create_task(heartbeat())
    try:
        yield
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
