"""Market feed core: replay stored candles at a chosen speed, or poll an exchange via ccxt.

Both yield :class:`Candle` objects from an async generator; a Ray actor wraps them and pushes
into the stores/EventBus. The live source needs a network and is only built when one is
configured (:func:`live_source`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from actors.crypto.errors import CryptoError, FeedUnavailableError
from actors.crypto.symbols import format_interval, normalize_symbol, parse_interval

Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True)
class Candle:
    """One closed OHLCV candle; ``timestamp`` is its UTC open time."""

    symbol: str
    interval: str
    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["timestamp"] = self.timestamp.isoformat()
        return out


def candles_from_frame(frame: pd.DataFrame, symbol: str, interval: str) -> list[Candle]:
    """Rows of an imported candle frame as :class:`Candle` objects."""
    symbol = normalize_symbol(symbol, supported=None)
    return [
        Candle(symbol, interval, ts, float(o), float(h), float(lo), float(c), float(v))
        for ts, o, h, lo, c, v in zip(
            frame.index,
            frame["open"],
            frame["high"],
            frame["low"],
            frame["close"],
            frame["volume"],
            strict=True,
        )
    ]


async def replay(
    frame: pd.DataFrame,
    *,
    symbol: str,
    interval: str,
    speed: float = math.inf,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[Candle]:
    """Yield the stored candles in ``[start, end]`` in time order, spacing them by their real
    time distance divided by ``speed`` (``speed=3600`` plays one hour per second; ``inf`` as
    fast as the consumer reads). Gaps in the data stretch the wait accordingly."""
    if not speed > 0:
        raise CryptoError(f"replay speed must be positive, got {speed}")
    step = parse_interval(interval)
    window = frame.sort_index()
    if start is not None:
        window = window.loc[pd.Timestamp(start) :]
    if end is not None:
        window = window.loc[: pd.Timestamp(end)]
    previous: pd.Timestamp | None = None
    for candle in candles_from_frame(window, symbol, format_interval(step)):
        if previous is not None and math.isfinite(speed):
            await sleep((candle.timestamp - previous).total_seconds() / speed)
        previous = candle.timestamp
        yield candle


def candles_from_ccxt(
    rows: Sequence[Sequence[float]], symbol: str, interval: str, *, now_ms: int
) -> list[Candle]:
    """ccxt ``fetch_ohlcv`` rows ``[ms, o, h, l, c, v]`` → closed candles (the still-open last
    candle, whose close time is after ``now_ms``, is left out)."""
    step_ms = int(parse_interval(interval).total_seconds() * 1000)
    out = []
    for ms, o, h, lo, c, v in rows:
        if int(ms) + step_ms > now_ms:
            continue
        ts = pd.Timestamp(int(ms), unit="ms", tz="UTC")
        out.append(Candle(symbol, interval, ts, float(o), float(h), float(lo), float(c), float(v)))
    return out


class CcxtLiveSource:
    """Polls an exchange's public OHLCV endpoint (ccxt async) and yields each newly closed
    candle once. Needs network access; build it through :func:`live_source`."""

    def __init__(
        self,
        exchange_id: str,
        symbol: str,
        interval: str = "1h",
        *,
        poll_seconds: float = 30.0,
        exchange: Any | None = None,
    ) -> None:
        self.symbol = normalize_symbol(symbol, supported=None)
        self.interval = format_interval(parse_interval(interval))
        self.poll_seconds = poll_seconds
        self._exchange_id = exchange_id
        self._exchange = exchange
        self._last: pd.Timestamp | None = None

    def _client(self) -> Any:
        if self._exchange is None:
            import ccxt.async_support as ccxt_async

            try:
                cls = getattr(ccxt_async, self._exchange_id)
            except AttributeError as exc:
                raise FeedUnavailableError(f"unknown ccxt exchange {self._exchange_id!r}") from exc
            self._exchange = cls({"enableRateLimit": True})
        return self._exchange

    async def poll_once(self) -> list[Candle]:
        """Fetch recent candles and return the closed ones newer than the last yielded."""
        client = self._client()
        rows = await client.fetch_ohlcv(self.symbol, timeframe=self.interval, limit=10)
        now_ms = int(client.milliseconds())
        fresh = [
            c
            for c in candles_from_ccxt(rows, self.symbol, self.interval, now_ms=now_ms)
            if self._last is None or c.timestamp > self._last
        ]
        if fresh:
            self._last = fresh[-1].timestamp
        return fresh

    async def stream(self, sleep: Sleep = asyncio.sleep) -> AsyncIterator[Candle]:
        """Yield new candles forever, polling every ``poll_seconds``."""
        try:
            while True:
                for candle in await self.poll_once():
                    yield candle
                await sleep(self.poll_seconds)
        finally:
            await self.close()

    async def close(self) -> None:
        if self._exchange is not None and hasattr(self._exchange, "close"):
            await self._exchange.close()


def live_source(
    exchange_id: str | None, symbol: str, interval: str = "1h", *, network: bool = False
) -> CcxtLiveSource:
    """The live source, or ``FeedUnavailableError`` when no network/exchange is configured."""
    if not network or not exchange_id:
        raise FeedUnavailableError(
            "live market data needs a network and an exchange id; use replay() offline"
        )
    return CcxtLiveSource(exchange_id, symbol, interval)
