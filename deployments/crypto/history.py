"""The newest candles of each symbol, in memory: read from the stores when missing or too
short, read again in the background every ``refresh_s``, extended by the feed's candles."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from actors.crypto.csv_import import CANDLE_COLUMNS
from actors.crypto.feed import Candle
from actors.crypto.stores import CryptoStores
from actors.crypto.symbols import parse_interval
from actors.crypto.synthetic import SYNTHETIC
from deployments.crypto.background import Background
from deployments.crypto.config import ServingConfig
from deployments.crypto.errors import NoCandlesError

HISTORY_ROWS = 256
"""Newest candles kept in memory per symbol (at least every loaded model's history)."""


@dataclass
class History:
    frame: pd.DataFrame  # newest candles, oldest first (OHLCV + gap_before + source)
    next_check: float

    @property
    def last(self) -> pd.Timestamp | None:
        return self.frame.index[-1] if len(self.frame) else None

    @property
    def synthetic(self) -> bool:
        return bool(len(self.frame)) and self.frame["source"].iloc[-1] == SYNTHETIC


class CandleHistories:
    def __init__(self, data: CryptoStores, config: Callable[[], ServingConfig],
                 clock: Callable[[], float], background: Background) -> None:
        self.data = data
        self.config = config
        self.clock = clock
        self.background = background
        self._histories: dict[str, History] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def peek(self, symbol: str) -> History | None:
        """What is in memory for ``symbol`` (may be empty or due for a re-read)."""
        return self._histories.get(symbol)

    def fresh(self, symbol: str) -> History | None:
        """The history of ``symbol`` while it has candles and no re-read is due."""
        hist = self._histories.get(symbol)
        if hist is not None and hist.last is not None and self.clock() < hist.next_check:
            return hist
        return None

    def expire(self, symbol: str) -> None:
        """Read ``symbol`` again at its next use (new candles were stored)."""
        hist = self._histories.get(symbol)
        if hist is not None:
            hist.next_check = 0.0

    def describe(self) -> dict[str, Any]:
        return {
            s: {"last": h.last.isoformat() if h.last is not None else None, "rows": len(h.frame)}
            for s, h in self._histories.items()
        }

    async def get(self, symbol: str, need: int) -> History:
        """At least the newest ``need`` candles of ``symbol``; `NoCandlesError` when fewer are
        stored."""
        interval = self.config().interval
        hist = self._histories.get(symbol)
        rows = max(need, HISTORY_ROWS)
        if hist is None or hist.last is None or len(hist.frame) < need:
            hist = await self._refresh(symbol, rows)
        elif self.clock() >= hist.next_check:
            self.background.spawn(f"history:{symbol}", self._refresh(symbol, rows))
        if hist.last is None:
            raise NoCandlesError(
                f"no {interval} candles stored for {symbol}: import some "
                "(POST /api/v1/crypto/candles/import) or run the market feed"
            )
        if len(hist.frame) < need:
            raise NoCandlesError(
                f"{len(hist.frame)} {interval} candles stored for {symbol}; "
                f"the model needs the newest {need}"
            )
        return hist

    async def _refresh(self, symbol: str, rows: int) -> History:
        lock = self._locks.setdefault(symbol, asyncio.Lock())
        async with lock:
            hist = self._histories.get(symbol)
            if hist is not None and hist.last is not None and len(hist.frame) >= rows \
                    and self.clock() < hist.next_check:
                return hist
            config = self.config()
            frame = await self.data.read_candles(symbol, config.interval, last=rows)
            hist = History(frame, self.clock() + config.refresh_s)
            self._histories[symbol] = hist
            return hist

    def append(self, symbol: str, candle: Candle, source: str) -> None:
        """Extend the history in memory by a newer candle (a corrected one: re-read soon)."""
        hist = self._histories.get(symbol)
        if hist is None or hist.last is None or candle.timestamp <= hist.last:
            if hist is not None and hist.last is not None and candle.timestamp == hist.last:
                hist.next_check = 0.0  # a corrected candle: re-read soon
            return
        step = parse_interval(self.config().interval)
        row = pd.DataFrame(
            [[candle.open, candle.high, candle.low, candle.close, candle.volume,
              candle.timestamp - hist.last > step, source]],
            columns=[*CANDLE_COLUMNS, "gap_before", "source"],
            index=pd.DatetimeIndex([candle.timestamp], name="timestamp"),
        )
        frame = pd.concat([hist.frame, row.astype(hist.frame.dtypes.to_dict())])
        hist.frame = frame.iloc[-max(HISTORY_ROWS, len(hist.frame)) :]
