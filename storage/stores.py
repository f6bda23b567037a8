"""The five stores the suite uses, opened from settings in one place."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from storage.cache.base import Cache
from storage.database.base import Database
from storage.errors import StoreUnavailableError
from storage.eventbus.base import EventBus
from storage.registry import Kind, open_backend, spec_for
from storage.timeseries.base import TimeSeries
from storage.warehouse.base import Warehouse

if TYPE_CHECKING:
    from config.settings import Settings

KINDS: tuple[Kind, ...] = ("database", "cache", "eventbus", "timeseries", "warehouse")


@dataclass
class Stores:
    database: Database
    cache: Cache
    eventbus: EventBus
    timeseries: TimeSeries
    warehouse: Warehouse

    async def connect(self) -> None:
        for kind in KINDS:
            await getattr(self, kind).connect()

    async def close(self) -> None:
        for kind in reversed(KINDS):
            await getattr(self, kind).close()

    async def health(self, timeout_s: float) -> dict[str, str]:
        """'ok' or the reason, per store kind, checked concurrently."""

        async def check(kind: Kind) -> str:
            try:
                await asyncio.wait_for(getattr(self, kind).ping(), timeout_s)
            except TimeoutError:
                return f"no answer within {timeout_s:g}s"
            except StoreUnavailableError as exc:
                return str(exc)
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"
            return "ok"

        results = await asyncio.gather(*(check(k) for k in KINDS))
        return dict(zip(KINDS, results, strict=True))


def open_store(kind: Kind, url: str, *, via_ray: bool, **deps: object) -> object:
    """One store; process-bound backends are owned by a Ray actor when `via_ray`."""
    if via_ray and spec_for(kind, url).process_bound:
        from storage.hosted import hosted

        return hosted(kind, url)
    return open_backend(kind, url, **deps)


def open_stores(settings: Settings, *, via_ray: bool) -> Stores:
    """Build (not connect) every store from settings. With `via_ray`, embedded stores
    are shared by all processes of the Ray cluster through their owner actors."""
    warehouse = cast(Warehouse, open_store("warehouse", settings.url("warehouse"), via_ray=via_ray))
    return Stores(
        database=cast(Database, open_store("database", settings.url("database"), via_ray=via_ray)),
        cache=cast(Cache, open_store("cache", settings.url("cache"), via_ray=via_ray)),
        eventbus=cast(EventBus, open_store("eventbus", settings.url("eventbus"), via_ray=via_ray)),
        timeseries=cast(
            TimeSeries,
            open_store("timeseries", settings.url("timeseries"), via_ray=via_ray,
                       warehouse=warehouse),
        ),
        warehouse=warehouse,
    )
