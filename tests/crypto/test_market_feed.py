"""The market feed core (replay into the stores and onto the EventBus) and the real-time path:
a replayed candle becomes a prediction, stored in the TimeSeries and published."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from actors.crypto.errors import FeedUnavailableError
from actors.crypto.stores import PREDICTIONS, candle_channel, prediction_channel
from actors.crypto_feed import FeedConfig, MarketFeed
from deployments.crypto.service import CryptoService
from storage.stores import Stores
from tests.crypto.models import SYMBOL, candles_csv, register, tiny_models


def _feed(stores: Stores, service: CryptoService, **config: object) -> MarketFeed:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    feed = MarketFeed(
        FeedConfig(table=service.data.table, **config),  # type: ignore[arg-type]
        stores.timeseries, stores.warehouse, stores.eventbus, sleep=fake_sleep,
    )
    feed.sleeps = sleeps  # type: ignore[attr-defined]
    return feed


async def test_replay_of_stored_history_streams_into_the_stores_and_the_bus(
    crypto_stores: Stores, make_service: Callable[..., CryptoService]
) -> None:
    service = make_service()
    history = tiny_models().history
    await service.data.write_candles(history, SYMBOL, "1h", "test")
    start, end = history.index[100], history.index[104]
    feed = _feed(crypto_stores, service, start=start.isoformat(), end=end.isoformat(),
                 speed=3600.0)
    async with crypto_stores.eventbus.subscribe(candle_channel(SYMBOL)) as subscription:
        status = await feed.run()
        messages = [await subscription.get(timeout_s=1.0) for _ in range(5)]
    assert status.state == "finished" and status.candles == 5 and status.last == end.isoformat()
    expected = [t.isoformat() for t in history.index[100:105]]
    assert [m["timestamp"] for m in messages if m] == expected
    assert all(m and m["type"] == "candle" and m["source"] == "feed:replay" for m in messages)
    assert feed.sleeps == [1.0] * 4  # type: ignore[attr-defined]  # an hour per second
    stored = await service.data.read_candles(SYMBOL, "1h", start=start, end=end)
    assert (stored["source"] == "feed:replay").all()


async def test_replay_of_a_file_continues_after_the_stored_history(
    tmp_path: Path, crypto_stores: Stores, make_service: Callable[..., CryptoService]
) -> None:
    service = make_service()
    models = tiny_models()
    await service.data.write_candles(models.history, SYMBOL, "1h", "test")
    path = tmp_path / "market.csv"
    path.write_bytes(candles_csv(models.candles))
    feed = _feed(crypto_stores, service, path=str(path), after_stored=True, limit=3,
                 speed=math.inf)
    status = await feed.run()
    assert status.candles == 3 and status.last == models.future.index[2].isoformat()
    stored = await service.data.candle_range(SYMBOL, "1h")
    assert stored is not None and stored["last"] == models.future.index[2]


async def test_live_feed_needs_a_configured_network(crypto_stores: Stores) -> None:
    feed = MarketFeed(
        FeedConfig(mode="live", exchange="binance", network=False),
        crypto_stores.timeseries, crypto_stores.warehouse, crypto_stores.eventbus,
    )
    with pytest.raises(FeedUnavailableError):
        await feed.run()
    assert feed.status.state == "failed" and "network" in (feed.status.error or "")


async def test_each_replayed_candle_becomes_a_published_and_stored_prediction(
    tmp_path: Path, crypto_stores: Stores, make_service: Callable[..., CryptoService]
) -> None:
    service = make_service()
    models = tiny_models()
    await service.data.write_candles(models.history, SYMBOL, "1h", "test")
    await register(service.registry, models.v1)
    assert (await service.predict(SYMBOL))["as_of"] == models.history.index[-1].isoformat()
    info = await service.watch("BTC-USDT")
    assert info["channel"] == prediction_channel(SYMBOL)
    path = tmp_path / "market.csv"
    path.write_bytes(candles_csv(models.candles))
    feed = _feed(crypto_stores, service, path=str(path), after_stored=True, limit=2,
                 speed=math.inf)
    async with crypto_stores.eventbus.subscribe(info["channel"]) as subscription:
        await feed.run()
        got = [await subscription.get(timeout_s=30.0) for _ in range(2)]
    expected = [t.isoformat() for t in models.future.index[:2]]
    assert [m["as_of"] for m in got if m] == expected
    assert all(m and m["type"] == "prediction" and m["model"]["version"] == 1 for m in got)
    stored = await crypto_stores.timeseries.query(
        PREDICTIONS, models.future.index[0].to_pydatetime(),
        models.future.index[2].to_pydatetime(), tags={"symbol": SYMBOL, "horizon": "1"},
    )
    assert [p.time.isoformat() for p in stored] == expected
    first = got[0]
    assert first is not None
    assert stored[0].fields["predicted_return"] == pytest.approx(first["predicted_return"])
    # the served history moved on with the feed: the route's answer is for the newest candle
    latest = await service.predict(SYMBOL)
    assert latest["as_of"] == expected[-1] and latest["cached"] is True
    assert pd.Timestamp(latest["target_time"]) == models.future.index[1] + pd.Timedelta("2h")
