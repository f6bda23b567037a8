from __future__ import annotations

import math
import time

import pandas as pd
import pytest

from actors.crypto.errors import CryptoError, FeedUnavailableError
from actors.crypto.feed import Candle, candles_from_ccxt, live_source, replay
from tests.crypto.synthetic import synthetic_candles

CANDLES = synthetic_candles(50, seed=2)


async def test_replay_yields_the_window_in_order_as_fast_as_possible() -> None:
    start, end = CANDLES.index[10], CANDLES.index[19]
    got = [c async for c in replay(CANDLES, symbol="btcusdt", interval="1h", start=start, end=end)]
    assert [c.timestamp for c in got] == list(CANDLES.index[10:20])
    assert all(isinstance(c, Candle) and c.symbol == "BTC/USDT" for c in got)
    assert got[0].close == CANDLES["close"].iloc[10]
    assert got[0].to_dict()["timestamp"] == start.isoformat()


async def test_replay_speed_spaces_candles_in_real_time() -> None:
    began = time.perf_counter()
    got = [c async for c in replay(CANDLES.iloc[:6], symbol="BTC/USDT", interval="1h", speed=72000)]
    elapsed = time.perf_counter() - began
    assert len(got) == 6
    assert elapsed >= 5 * 3600 / 72000 * 0.9  # five one-hour steps of 50 ms


async def test_replay_rejects_bad_speed() -> None:
    with pytest.raises(CryptoError):
        _ = [c async for c in replay(CANDLES, symbol="BTC/USDT", interval="1h", speed=0)]


def test_ccxt_rows_skip_the_open_candle() -> None:
    base = int(pd.Timestamp("2021-01-01", tz="UTC").timestamp() * 1000)
    rows = [[base + i * 3_600_000, 1.0, 2.0, 0.5, 1.5, 10.0] for i in range(3)]
    now = base + 2 * 3_600_000 + 60_000  # one minute into the third candle
    got = candles_from_ccxt(rows, "BTC/USDT", "1h", now_ms=now)
    assert [c.timestamp for c in got] == [
        pd.Timestamp("2021-01-01 00:00", tz="UTC"),
        pd.Timestamp("2021-01-01 01:00", tz="UTC"),
    ]
    assert not math.isnan(got[0].volume)


def test_live_source_needs_a_configured_network() -> None:
    with pytest.raises(FeedUnavailableError):
        live_source("binance", "BTC/USDT", network=False)
    with pytest.raises(FeedUnavailableError):
        live_source(None, "BTC/USDT", network=True)
    source = live_source("binance", "btcusdt", "1h", network=True)  # built, never polled here
    assert source.symbol == "BTC/USDT" and source.interval == "1h"
