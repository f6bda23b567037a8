"""TimeSeries contract, against InfluxDB (Debian's 1.6) and the warehouse backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.timeseries.base import Point

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def candle(symbol: str, hour: int, close: float) -> Point:
    return Point(
        "candles", T0 + timedelta(hours=hour),
        {"close": close, "volume": 10.0 + hour}, {"symbol": symbol, "interval": "1h"},
    )


async def test_write_and_query_range(timeseries: Any) -> None:
    points = [candle("BTC", h, 100.0 + h) for h in range(5)] + [candle("ETH", 1, 9.5)]
    assert await timeseries.write(points) == 6
    got = await timeseries.query("candles", T0 + timedelta(hours=1), T0 + timedelta(hours=4),
                                 tags={"symbol": "BTC"})
    assert [p.fields["close"] for p in got] == [101.0, 102.0, 103.0]
    assert all(p.tags == {"symbol": "BTC", "interval": "1h"} for p in got)
    assert got[0].time == T0 + timedelta(hours=1)


async def test_rewrite_replaces_point(timeseries: Any) -> None:
    await timeseries.write([candle("BTC", 0, 1.0)])
    await timeseries.write([candle("BTC", 0, 2.0)])
    got = await timeseries.query("candles", T0, T0 + timedelta(days=1))
    assert [p.fields["close"] for p in got] == [2.0]


async def test_last_and_limit(timeseries: Any) -> None:
    await timeseries.write([candle("BTC", h, float(h)) for h in range(10)])
    last = await timeseries.last("candles", {"symbol": "BTC"})
    assert last is not None and last.fields["close"] == 9.0
    assert await timeseries.last("candles", {"symbol": "DOGE"}) is None
    limited = await timeseries.query("candles", T0, T0 + timedelta(days=1), limit=3)
    assert [p.fields["close"] for p in limited] == [0.0, 1.0, 2.0]


async def test_field_types_and_microseconds(timeseries: Any) -> None:
    moment = T0 + timedelta(microseconds=123456)
    await timeseries.write([Point("events", moment, {"n": 3, "ok": True, "msg": "a b'c"})])
    (point,) = await timeseries.query("events", T0, T0 + timedelta(seconds=1))
    assert point.time == moment
    assert point.fields == {"n": 3, "ok": True, "msg": "a b'c"}


async def test_tag_values_are_not_injection(timeseries: Any) -> None:
    await timeseries.write([candle("BTC", 0, 1.0)])
    sneaky = {"symbol": "BTC' OR '1'='1"}
    assert await timeseries.query("candles", T0, T0 + timedelta(days=1), tags=sneaky) == []


async def test_delete_removes_only_the_matching_series(timeseries: Any) -> None:
    await timeseries.write([candle("BTC", h, float(h)) for h in range(3)]
                           + [candle("ETH", h, float(h)) for h in range(2)]
                           + [Point("other", T0, {"close": 1.0}, {"symbol": "BTC"})])
    await timeseries.delete("candles", {"symbol": "BTC", "interval": "1h"})
    left = await timeseries.query("candles", T0, T0 + timedelta(days=1))
    assert sorted((p.tags["symbol"], p.fields["close"]) for p in left) == [("ETH", 0.0),
                                                                           ("ETH", 1.0)]
    assert await timeseries.last("other", {"symbol": "BTC"}) is not None
    await timeseries.delete("candles", {"symbol": "BTC' OR '1'='1"})  # not an injection
    assert len(await timeseries.query("candles", T0, T0 + timedelta(days=1))) == 2
    await timeseries.write([candle("BTC", 0, 5.0)])  # the series can be written again
    again = await timeseries.last("candles", {"symbol": "BTC"})
    assert again is not None and again.fields["close"] == 5.0


def test_bad_points_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Point("m", datetime(2024, 1, 1), {"x": 1.0})
    with pytest.raises(ValueError, match="invalid"):
        Point('m"; DROP', T0, {"x": 1.0})
    with pytest.raises(ValueError, match="field"):
        Point("m", T0, {})
