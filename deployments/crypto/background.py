"""Work the crypto service runs in the background: at most one task per key (a model's or
a history's refresh), failures logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from deployments.crypto.errors import CryptoServiceError

log = logging.getLogger("armillary.crypto")


class Background:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def spawn(self, key: str, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` in the background unless work under ``key`` is already running."""
        running = self._tasks.get(key)
        if running is not None and not running.done():
            work.close()
            return

        async def guarded() -> None:
            try:
                await work
            except CryptoServiceError as exc:
                log.warning("%s: %s", key, exc)
            except Exception:
                log.exception("background %s failed", key)

        self._tasks[key] = asyncio.get_running_loop().create_task(guarded())

    async def close(self) -> None:
        await cancel_all(list(self._tasks.values()))
        self._tasks.clear()


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has ended."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(BaseException):
            await task
