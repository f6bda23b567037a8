"""The market feed: a long-lived Ray actor that streams candles into the platform.

Each candle is written to the TimeSeries (``candles``) and the Warehouse (the history) and then
announced on the EventBus channel ``crypto.candles.<BASE-QUOTE>``, where the crypto deployment
turns it into a real-time prediction. Sources:

* ``replay`` (the default; no network): stored history played back in time order at ``speed``
  times real time (``speed=3600``: one hourly candle per second) — the Warehouse history of the
  symbol between ``start`` and ``end``, or an OHLCV CSV file (``path``) through the importer;
* ``live``: a ccxt exchange polled for newly closed candles, only when an exchange id and
  ``network=True`` are configured (``actors.crypto.feed.live_source``).

:class:`MarketFeed` is the plain-Python core (tests drive it directly);
:func:`cluster.crypto_feed.feed_actor` runs it in a Ray actor, which reaches the stores from
settings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from actors.crypto.csv_import import import_ohlcv
from actors.crypto.errors import CryptoError
from actors.crypto.feed import Candle, live_source, replay
from actors.crypto.stores import CANDLE_TABLE, CryptoStores, candle_channel, candle_message
from actors.crypto.symbols import format_interval, normalize_symbol, parse_interval
from storage.eventbus.base import EventBus
from storage.timeseries.base import TimeSeries
from storage.warehouse.base import Warehouse

log = logging.getLogger("armillary.crypto.feed")


@dataclass(frozen=True)
class FeedConfig:
    symbol: str = "BTC/USDT"
    interval: str = "1h"
    mode: Literal["replay", "live"] = "replay"
    speed: float = 3600.0
    """Replay: how many seconds of market time pass per second (``inf``: no waiting)."""
    start: str | None = None
    end: str | None = None
    path: str | None = None
    """Replay this OHLCV CSV instead of the stored history."""
    after_stored: bool = False
    """Replay only candles newer than the newest stored one (continue where it stopped)."""
    limit: int | None = None
    """Stop after this many candles."""
    exchange: str | None = None
    network: bool = False
    table: str = CANDLE_TABLE

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol, supported=None))
        object.__setattr__(self, "interval", format_interval(parse_interval(self.interval)))
        if self.mode not in ("replay", "live"):
            raise CryptoError(f"feed mode must be replay or live, got {self.mode!r}")
        if not self.speed > 0:
            raise CryptoError(f"replay speed must be positive, got {self.speed}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FeedStatus:
    state: str = "idle"  # idle, running, finished, stopped, failed
    candles: int = 0
    last: str | None = None
    error: str | None = None
    started_at: float | None = None
    source: str | None = None


class MarketFeed:
    """Streams candles from its source into the stores and onto the EventBus."""

    def __init__(
        self,
        config: FeedConfig,
        timeseries: TimeSeries,
        warehouse: Warehouse,
        eventbus: EventBus,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.data = CryptoStores(timeseries, warehouse, eventbus, table=config.table)
        self.status = FeedStatus()
        self._sleep = sleep
        self._stop = asyncio.Event()
        self._previous: pd.Timestamp | None = None

    @property
    def source_label(self) -> str:
        if self.config.mode == "live":
            return f"feed:live:{self.config.exchange}"
        return "feed:replay"

    async def _replay_frame(self) -> pd.DataFrame:
        c = self.config
        start = pd.Timestamp(c.start) if c.start else None
        if c.after_stored:
            stored = await self.data.candle_range(c.symbol, c.interval)
            if stored is not None:
                after = stored["last"] + pd.Timedelta(microseconds=1)
                start = after if start is None or after > start else start
            self._previous = stored["last"] if stored else None
        if c.path:
            frame, report = await asyncio.to_thread(import_ohlcv, c.path, interval=c.interval)
            if report.symbol and report.symbol != c.symbol:
                raise CryptoError(f"{c.path} holds {report.symbol} candles, not {c.symbol}")
            if start is not None:
                frame = frame.loc[_utc(start) :]
            if c.end:
                frame = frame.loc[: _utc(c.end)]
            return frame
        return await self.data.read_candles(c.symbol, c.interval, start=start, end=c.end)

    async def _candles(self) -> AsyncIterator[Candle]:
        c = self.config
        if c.mode == "live":
            source = live_source(c.exchange, c.symbol, c.interval, network=c.network)
            async for candle in source.stream(sleep=self._sleep):
                yield candle
            return
        frame = await self._replay_frame()
        async for candle in replay(
            frame, symbol=c.symbol, interval=c.interval, speed=c.speed, sleep=self._sleep
        ):
            yield candle

    async def emit(self, candle: Candle) -> None:
        """Store one candle and announce it."""
        step = parse_interval(candle.interval)
        gap = self._previous is not None and candle.timestamp - self._previous > step
        await self.data.write_candle(candle, self.source_label, gap_before=gap)
        await self.data.publish(
            candle_channel(candle.symbol), candle_message(candle, self.source_label)
        )
        self._previous = candle.timestamp
        self.status.candles += 1
        self.status.last = candle.timestamp.isoformat()

    async def run(self) -> FeedStatus:
        """Stream until the source ends, ``limit`` candles were sent, or :meth:`stop`."""
        self.status = FeedStatus("running", started_at=time.time(), source=self.source_label)
        self._stop.clear()
        try:
            async for candle in self._candles():
                if self._stop.is_set():
                    self.status.state = "stopped"
                    return self.status
                await self.emit(candle)
                if self.config.limit is not None and self.status.candles >= self.config.limit:
                    break
        except asyncio.CancelledError:
            self.status.state = "stopped"
            raise
        except Exception as exc:
            self.status.state, self.status.error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("market feed %s failed", self.config.symbol)
            raise
        self.status.state = "stopped" if self._stop.is_set() else "finished"
        return self.status

    def stop(self) -> None:
        self._stop.set()


def _utc(moment: pd.Timestamp) -> pd.Timestamp:
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
