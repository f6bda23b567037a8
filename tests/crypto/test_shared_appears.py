"""../shared added after a first run (issue 16): the next `armillary up` notices it. The
synthetic candles stored by the first run are replaced by the real history (so the feed
replays the real tail instead of 0 candles), and the crypto model trained on synthetic data
is due again; the training job for the real data does not start on the synthetic candles."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pandas as pd
import pytest

from actors.crypto.stores import CANDLES, CryptoStores
from actors.crypto.synthetic import SYNTHETIC, synthetic_candles
from cluster.crypto import TAIL, Plan, _due_models, plan, store_history
from config.settings import Settings
from storage.records.models import ModelRegistry
from storage.registry import open_backend
from storage.stores import Stores

SYMBOL = "BTC/USDT"
REAL_ROWS = TAIL + 300


def binance_csv(path: Path, rows: int) -> Path:
    """A file in the shared data's layout (CryptoDataDownload: a banner, newest first)."""
    frame = synthetic_candles(rows, end=pd.Timestamp("2020-08-31 23:00", tz="UTC"),
                              interval="1h", seed=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        out.write("https://www.CryptoDataDownload.com\n")
        out.write("unix,date,symbol,open,high,low,close,Volume BTC,Volume USDT,tradecount\n")
        for moment, row in frame.iloc[::-1].iterrows():
            out.write(f"{int(moment.timestamp() * 1000)},{moment:%Y-%m-%d %H:%M:%S},BTC/USDT,"
                      f"{row.open},{row.high},{row.low},{row.close},{row.volume},"
                      f"{row.volume * row.close},100\n")
    return path


@pytest.fixture
def data(crypto_stores: Stores) -> CryptoStores:
    return CryptoStores(crypto_stores.timeseries, crypto_stores.warehouse,
                        table=f"crypto_candles_{uuid.uuid4().hex[:10]}")


async def test_real_data_replaces_the_synthetic_history(tmp_path: Path,
                                                        data: CryptoStores) -> None:
    settings = Settings(environment="test", data_dir=tmp_path / "var",
                        shared_dir=tmp_path / "shared")
    first = plan(settings)
    assert first.synthetic
    stored = await store_history(first, data)
    assert stored["imported"] > 0 and stored["replaced_synthetic"] == 0
    assert await data.candle_sources(SYMBOL, "1h") == {SYNTHETIC: stored["rows"]}
    again = await store_history(first, data)  # nothing new: nothing changes
    assert again["imported"] == 0 and again["replaced_synthetic"] == 0

    real_file = binance_csv(tmp_path / "shared" / "data" / "crypto" / "ohlcv" /
                            "Binance_BTCUSDT_1h.csv", REAL_ROWS)
    second = plan(settings)
    assert not second.synthetic and second.path == str(real_file)
    replaced = await store_history(second, data)
    assert replaced["replaced_synthetic"] == stored["rows"]
    assert replaced["imported"] == REAL_ROWS - TAIL
    assert await data.candle_sources(SYMBOL, "1h") == {
        f"shared:{real_file.name}": REAL_ROWS - TAIL}
    span = await data.candle_range(SYMBOL, "1h")
    assert span is not None
    assert span["last"] == pd.Timestamp(replaced["history_end"])
    assert span["last"] < pd.Timestamp("2020-09-01", tz="UTC")  # the feed replays after it
    # no synthetic point is left in the time series either
    newest = await data.timeseries.last(CANDLES, {"symbol": SYMBOL, "interval": "1h"})
    assert newest is not None and newest.time == span["last"].to_pydatetime()
    # a third start with the real data: left as it is
    third = await store_history(second, data)
    assert third["imported"] == 0 and third["replaced_synthetic"] == 0


async def test_a_synthetic_model_is_due_once_real_data_is_there(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path,
                        database_url=f"sqlite:///{tmp_path}/db.sqlite")
    db = open_backend("database", settings.url("database"))
    await db.connect()
    await db.migrate()
    synthetic = Plan(SYMBOL, "1h", "x.csv", True, (1,))
    real = Plan(SYMBOL, "1h", "y.csv", False, (1,))
    try:
        assert await _due_models(settings, real) == {1: ("crypto-btc-usdt-1h-h1", "none")}
        await ModelRegistry(db).register("crypto-btc-usdt-1h-h1", "file:///m", {},
                                         {"synthetic": True}, "test")
        assert await _due_models(settings, synthetic) == {}
        assert await _due_models(settings, real) == {1: ("crypto-btc-usdt-1h-h1",
                                                         "synthetic")}
        await ModelRegistry(db).register("crypto-btc-usdt-1h-h1", "file:///m2", {},
                                         {"synthetic": False}, "test")
        assert await _due_models(settings, real) == {}
    finally:
        await db.close()


def test_plan_follows_the_shared_dir(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, shared_dir=tmp_path / "none")
    assert plan(settings).synthetic
    assert asyncio.iscoroutinefunction(store_history)
