"""The crypto service core on real (embedded) stores: candle import into the TimeSeries and
the Warehouse, sentiment ingest, model registry versions, switching without a restart, the
stale-model refusal, bad symbols and horizons, batching and the per-candle cache."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actors.crypto.errors import CsvFormatError, InvalidHorizonError, UnknownSymbolError
from actors.crypto.registry import model_name, read_backtest
from actors.crypto.stores import CANDLES
from deployments.crypto.errors import (
    CRYPTO_ERRORS,
    ModelTrainingError,
    NoCandlesError,
    NoModelError,
    StaleModelError,
)
from deployments.crypto.service import CryptoService
from deployments.status import Status, status_of
from storage.records.jobs import Jobs
from tests.crypto.models import SYMBOL, candles_csv, register, tiny_models
from tests.support import shared_data

NAME = model_name(SYMBOL, "1h", 1)


async def _with_history(service: CryptoService) -> None:
    await service.data.write_candles(tiny_models().history, SYMBOL, "1h", "test")


async def test_import_real_cdd_file_into_both_stores(
    make_service: Callable[..., CryptoService],
) -> None:
    path = shared_data("crypto", "ohlcv", "Binance_ETHUSDT_d.csv")
    service = make_service()
    result = await service.import_candles(path.read_bytes(), None, None, path.name)
    report = result["report"]
    assert result["symbol"] == "ETH/USDT" and result["interval"] == "1d"
    # the CDD quirks were found and reported
    assert result["fixed"]["banner_lines_skipped"] == 1
    assert result["fixed"]["descending_order_reversed"] == 1
    assert report["rows_out"] == result["stored"]["warehouse"] == result["stored"]["timeseries"]

    stored = await service.data.read_candles("ETH/USDT", "1d")
    assert len(stored) == report["rows_out"]
    assert stored.index.is_monotonic_increasing and stored.index[0].isoformat() == report["first"]
    assert (stored["source"] == f"import:{path.name}").all()
    last = await service.stores.timeseries.last(CANDLES, {"symbol": "ETH/USDT", "interval": "1d"})
    assert last is not None and last.time.isoformat() == report["last"]
    assert last.fields["close"] == pytest.approx(stored["close"].iloc[-1])

    again = await service.import_candles(path.read_bytes(), "ETH-USDT", "1d", path.name)
    assert again["stored"]["warehouse"] == report["rows_out"]
    stored_range = await service.data.candle_range("ETH/USDT", "1d")
    assert stored_range is not None and stored_range["count"] == report["rows_out"]


async def test_import_rejects_bad_csv_and_symbol_mismatch(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service()
    with pytest.raises(CsvFormatError):
        await service.import_candles(b"just,some\nnonsense,here\n")
    with pytest.raises(CsvFormatError, match="not ETH/USDT"):
        await service.import_candles(candles_csv(tiny_models().history.iloc[:50]), "ETH/USDT")
    with pytest.raises(CsvFormatError, match="no symbol"):
        await service.import_candles(candles_csv(tiny_models().history.iloc[:50], None))


async def test_sentiment_scores_are_stored_and_aggregated(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service()
    t0 = datetime(2024, 3, 1, 10, 5, tzinfo=UTC)
    items = [
        {"timestamp": t0.isoformat(), "symbol": "btcusdt", "text": "Bitcoin rallies to a record"},
        {"timestamp": "2024-03-01T10:40:00Z", "symbol": "BTC/USDT", "text": "BTC plunges"},
        {"timestamp": "2024-03-01T11:10:00", "symbol": "BTC-USDT", "text": "Exchange opens office"},
    ]
    result = await service.add_sentiment(items)
    assert result["stored"] == 3
    labels = [i["label"] for i in result["items"]]
    assert labels == ["bullish", "bearish", "neutral"]
    assert [b["count"] for b in result["hourly"]["BTC/USDT"]] == [2, 1]
    hour = pd.Timedelta("1h")
    series = await service.data.sentiment_series(SYMBOL, t0 - hour, t0 + 3 * hour)
    assert list(series["count"]) == [2.0, 1.0]
    assert series["compound_mean"].iloc[0] == pytest.approx(
        np.mean([i["compound"] for i in result["items"][:2]])
    )
    await service.add_sentiment(items[:1])  # the same item again is stored once
    again = await service.data.sentiment_series(SYMBOL, t0, t0 + pd.Timedelta("1h"))
    assert list(again["count"]) == [2.0]


async def test_prediction_comes_from_the_current_model_with_its_skill(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service()
    await _with_history(service)
    record = await register(service.registry, tiny_models().v1)
    assert record.name == NAME and record.metrics["walkforward"]["model"]["n"] > 0
    assert record.data_range["start"] and record.code_version == "test"

    first = await service.predict("btc-usdt")
    assert first["model"]["version"] == 1 and first["model"]["name"] == NAME
    assert first["as_of"] == first["data_time"] == tiny_models().history.index[-1].isoformat()
    assert first["skill"] == record.metrics["skill"]
    assert first["skill_verdict"] == record.metrics["skill_verdict"]
    assert first["skill_verdict"] in ("skill", "worse", "none")
    assert first["cached"] is False and first["synthetic_data"] is False
    second = await service.predict("BTCUSDT", "1")
    assert second["cached"] is True and second["predicted_return"] == first["predicted_return"]
    assert service.stats.computed == 1


async def test_a_new_version_is_served_without_a_restart(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service()
    await _with_history(service)
    await register(service.registry, tiny_models().v1)
    v1 = await service.predict(SYMBOL)
    await register(service.registry, tiny_models().v2)
    seen = v1
    for _ in range(50):  # the registry check runs beside the requests it was due for
        seen = await service.predict(SYMBOL)
        if seen["model"]["version"] == 2:
            break
        await asyncio.sleep(0.05)
    assert seen["model"]["version"] == 2
    assert seen["predicted_return"] != v1["predicted_return"]  # another model answered
    assert service.stats.model_loads == 2

    await service.reconfigure({"pins": {NAME: 1}})  # pinned back at once
    assert (await service.predict(SYMBOL))["model"]["version"] == 1
    await service.reconfigure({})
    assert (await service.predict(SYMBOL))["model"]["version"] == 2


async def test_stale_model_is_refused_with_a_message(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service(crypto_max_model_age_s=3600)
    await _with_history(service)
    await register(service.registry, tiny_models().v1)
    assert (await service.predict(SYMBOL))["model"]["version"] == 1
    later = service.clock() + 2 * 3600
    service.clock = lambda: later
    with pytest.raises(StaleModelError, match=r"registered 2\.0 hours ago") as caught:
        await service.predict(SYMBOL)
    assert status_of(CRYPTO_ERRORS, caught.value) == Status(503)
    assert "ARMILLARY_CRYPTO_MAX_MODEL_AGE_S" in str(caught.value)


async def test_bad_symbols_horizons_and_missing_models(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service()
    await _with_history(service)
    await register(service.registry, tiny_models().v1)
    for symbol in ("DOGE/USDT", "nonsense", ""):
        with pytest.raises(UnknownSymbolError):
            await service.predict(symbol)
    for horizon in ("abc", "0", -1, 1000, "2"):  # "2": a valid number, but not served
        with pytest.raises(InvalidHorizonError):
            await service.predict(SYMBOL, horizon)
    with pytest.raises(NoModelError, match="no model registered as crypto-eth-usdt-1h-h1") as e:
        await service.predict("ETH/USDT")
    assert status_of(CRYPTO_ERRORS, e.value) == Status(404)
    job = await Jobs(service.stores.database).create(
        "crypto-train", "system", {"model": "crypto-eth-usdt-1h-h1", "source": {"kind": "test"}}
    )
    with pytest.raises(ModelTrainingError, match=f"being trained.*job {job.id}"):
        await service.predict("ETH/USDT")
    with pytest.raises(ModelTrainingError):
        await service.backtest("ETH/USDT")


async def test_no_candles_is_a_clear_error(make_service: Callable[..., CryptoService]) -> None:
    service = make_service()
    await register(service.registry, tiny_models().v1)
    with pytest.raises(NoCandlesError, match="no 1h candles stored for BTC/USDT"):
        await service.predict(SYMBOL)


async def test_backtest_is_the_stored_walk_forward_report(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service()
    record = await register(service.registry, tiny_models().v1)
    result = await service.backtest("BTC-USDT")
    stored = read_backtest(record.artifact_uri)
    assert stored is not None
    assert result["model"]["version"] == 1 and result["skill"] == record.metrics["skill"]
    assert result["report"]["folds"] == stored["folds"]
    assert set(result["report"]["metrics"]) == {"persistence", "model"}
    assert result["report"]["metrics"]["persistence"]["mase"] == pytest.approx(1.0)
    assert "predictions" not in result["report"]


async def test_a_batch_computes_each_candle_once(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service()
    await _with_history(service)
    await register(service.registry, tiny_models().v1)
    await service.reconfigure({"cache_predictions": False})
    answers = await service.predict_many([(SYMBOL, None)] * 20 + [("DOGE/USDT", None)])
    assert service.stats.computed == 1
    assert isinstance(answers[-1], UnknownSymbolError)
    assert len({a["predicted_return"] for a in answers[:-1]}) == 1  # type: ignore[index]
    # without a cache, every batch computes again
    await service.predict(SYMBOL)
    assert service.stats.computed == 2

    await service.reconfigure({"cache_predictions": True})
    together = await asyncio.gather(*(service.predict(SYMBOL) for _ in range(10)))
    assert service.stats.computed == 3  # concurrent misses share one computation
    assert {a["predicted_return"] for a in together} == {answers[0]["predicted_return"]}  # type: ignore[index]
    assert await service.stores.cache.get(
        f"crypto:pred:{NAME}:v1:{tiny_models().history.index[-1].isoformat()}"
    )


async def test_a_sentiment_model_reads_the_stored_sentiment(
    make_service: Callable[..., CryptoService], tmp_path: Path
) -> None:
    from training.crypto_train import QuickTrainConfig, train_artifact

    service = make_service()
    history = tiny_models().history
    times = pd.date_range(history.index[0], history.index[-1], freq="50min")
    words = ["Bitcoin rallies to a record", "Bitcoin plunges", "Exchange opens an office"]
    items = [{"timestamp": t.isoformat(), "symbol": SYMBOL, "text": words[i % 3]}
             for i, t in enumerate(times)]
    await service.add_sentiment(items)
    sentiment = await service.data.sentiment_series(
        SYMBOL, history.index[0] - pd.Timedelta("1d"), history.index[-1] + pd.Timedelta("2h")
    )
    config = QuickTrainConfig(horizon=1, last_rows=None, window=8, units=4, epochs=1, folds=0,
                              sentiment=True)
    trained = await asyncio.to_thread(
        train_artifact, history, symbol=SYMBOL, interval="1h", out_dir=tmp_path / "sent",
        config=config, code_version="test", source={"kind": "test"}, sentiment=sentiment,
    )
    await service.data.write_candles(history, SYMBOL, "1h", "test")
    await register(service.registry, trained.artifact_dir)
    await service.reconfigure({"cache_predictions": False})
    before = await service.predict(SYMBOL)
    # a burst of bearish news in the last hours changes the forecast
    late = history.index[-1] - pd.Timedelta("3h")
    await service.add_sentiment([
        {"timestamp": (late + pd.Timedelta(minutes=m)).isoformat(), "symbol": SYMBOL,
         "text": "Bitcoin crashes, plunges and slumps in a brutal selloff"}
        for m in range(0, 180, 5)
    ])
    after = await service.predict(SYMBOL)
    assert after["as_of"] == before["as_of"]
    assert after["predicted_return"] != before["predicted_return"]
