"""The market feed as a Ray actor: one :class:`actors.crypto_feed.MarketFeed` on the stores
named by the settings (:func:`feed_actor` creates it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict
from typing import Any

from actors.crypto_feed import FeedConfig, FeedStatus, MarketFeed

log = logging.getLogger("armillary.crypto.feed")
__all__ = ["FeedConfig", "MarketFeedActor", "feed_actor"]


class MarketFeedActor:
    """The actor body: one :class:`MarketFeed` on the stores named by the settings."""

    def __init__(self, config: dict[str, Any]) -> None:
        from config.settings import load_settings
        from storage.stores import open_stores

        logging.basicConfig(level=logging.INFO)
        self._stores = open_stores(load_settings(), via_ray=True)
        self._feed = MarketFeed(
            FeedConfig(**config), self._stores.timeseries, self._stores.warehouse,
            self._stores.eventbus,
        )
        self._task: asyncio.Task[FeedStatus] | None = None

    async def run(self, *after: Any) -> dict[str, Any]:
        """Stream to the end and return the final status. Arguments are ignored: pass object
        refs to start only once they are ready (e.g. the history import)."""
        if self._task is None or self._task.done():  # one stream per actor, however called
            await self._stores.connect()
            self._task = asyncio.get_running_loop().create_task(self._feed.run())
        return asdict(await asyncio.shield(self._task))

    async def start(self, *after: Any) -> dict[str, Any]:
        """Start streaming in the background; returns at once."""
        if self._task is None or self._task.done():
            await self._stores.connect()
            self._task = asyncio.get_running_loop().create_task(self._feed.run())
            self._task.add_done_callback(_log_failure)
        return asdict(self._feed.status)

    async def status(self) -> dict[str, Any]:
        return {**asdict(self._feed.status), "config": self._feed.config.to_dict()}

    async def stop(self) -> dict[str, Any]:
        self._feed.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        return asdict(self._feed.status)


def _log_failure(task: asyncio.Task[FeedStatus]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("market feed stopped: %s", task.exception())


def feed_actor(config: FeedConfig, *, name: str | None = None, namespace: str | None = None) -> Any:
    """Create the feed actor (no CPU reserved: it mostly waits). ``name`` makes it findable
    with ``ray.get_actor``."""
    import ray

    from config.workloads import on_head_node

    options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": 16, "max_restarts": 0,
                               **on_head_node()}
    if name:
        options.update(name=name, get_if_exists=True)
    if namespace:
        options["namespace"] = namespace
    return ray.remote(MarketFeedActor).options(**options).remote(config.to_dict())
