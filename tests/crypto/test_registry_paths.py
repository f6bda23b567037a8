"""How trained crypto models reach the model registry: the quick training path (make run,
tests) and the Tune path's registration of its best trial."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from actors.crypto.errors import InvalidHorizonError
from actors.crypto.registry import (
    BACKTEST_FILE,
    artifact_root,
    assess,
    model_name,
    skill_of,
)
from actors.crypto.synthetic import BANNER, synthetic_candles, write_synthetic_csv
from config.settings import Settings
from storage.records.jobs import Jobs, JobStatus
from storage.records.models import ModelRegistry
from storage.stores import Stores
from tests.crypto.models import SYMBOL, candles_csv, tiny_config, tiny_models
from training.crypto_train import train_and_register
from training.crypto_tune import TuneOutcome, TuneSettings, register_outcome


def test_model_names() -> None:
    assert model_name("BTC/USDT", "1h", 1) == "crypto-btc-usdt-1h-h1"
    assert model_name("ethusdt", "60m", 24) == "crypto-eth-usdt-1h-h24"
    with pytest.raises(InvalidHorizonError):
        model_name("BTC/USDT", "1h", 0)


def test_skill_statement_from_stored_metrics() -> None:
    base = {"model": "model", "n": 500, "mae": 0.01, "rmse": 0.02, "hit_rate": None,
            "direction_calls": 0, "direction_p_value": 1.0, "dm_statistic": -3.0}
    none = "no demonstrated skill"
    assert skill_of({"model": {**base, "mase": 0.95, "dm_p_value": 0.01}}).startswith("skill vs")
    assert skill_of({"model": {**base, "mase": 0.95, "dm_p_value": 0.2}}) == none
    assert skill_of({"model": {**base, "mase": 1.01, "dm_p_value": 0.01}}).startswith(
        "significantly worse than persistence")
    assert skill_of({"model": {**base, "mase": 1.01, "dm_p_value": 0.2}}) == none
    # significant, but under the minimum effect size (2 % by default)
    tiny = {"model": {**base, "mase": 0.999, "dm_p_value": 0.001}}
    assert assess(tiny) == ("none", skill_of(tiny))
    assert skill_of(tiny).startswith(none + ": MASE 0.999")
    assert assess(tiny, min_improvement=0.0)[0] == "skill"
    assert assess(None) == ("none", none)
    # stored metrics from before the baseline fields still read
    assert assess({"model": {**base, "mase": 0.9, "dm_p_value": 0.001}})[0] == "skill"


def test_synthetic_csv_is_labelled_and_importable(tmp_path: Path) -> None:
    from actors.crypto.csv_import import import_ohlcv

    frame = synthetic_candles(300, end=pd.Timestamp("2024-01-01 12:34", tz="UTC"))
    assert frame.index[-1] == pd.Timestamp("2024-01-01 12:00", tz="UTC")
    path = write_synthetic_csv(frame, tmp_path / "synthetic.csv", SYMBOL)
    assert path.read_text().splitlines()[0] == BANNER
    candles, report = import_ohlcv(path)
    assert report.symbol == SYMBOL and report.rows_out == 300 and report.interval == "1h"
    assert candles["close"].to_numpy() == pytest.approx(frame["close"].to_numpy())


async def test_quick_training_registers_a_labelled_synthetic_model(
    tmp_path: Path, crypto_stores: Stores
) -> None:
    settings = Settings(environment="test", data_dir=tmp_path)
    candles = tiny_models().history
    result = await train_and_register(
        settings, crypto_stores.database, candles, symbol=SYMBOL, interval="1h",
        config=tiny_config(3), source={"kind": "synthetic", "note": "test"}, job_owner="system",
    )
    assert result["name"] == "crypto-btc-usdt-1h-h1" and result["version"] == 1
    assert result["data_range"]["synthetic"] is True
    assert result["data_range"]["end"] == candles.index[-1].isoformat()
    skill = result["metrics"]["skill"]
    assert skill == "no demonstrated skill" or skill.startswith("skill vs")
    artifact = Path(result["artifact_uri"])
    assert artifact.parent.parent == artifact_root(tmp_path)
    assert (artifact / BACKTEST_FILE).is_file() and (artifact / "model.keras").is_file()
    job = await Jobs(crypto_stores.database).get(result["job_id"])
    assert job is not None and job.status is JobStatus.SUCCEEDED
    assert job.result == {"model": "crypto-btc-usdt-1h-h1", "version": 1}


def test_tune_outcome_is_backtested_and_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from storage.registry import open_backend

    monkeypatch.setenv("ARMILLARY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARMILLARY_DATABASE_URL", f"sqlite:///{tmp_path}/registry.db")
    data = tmp_path / "candles.csv"
    data.write_bytes(candles_csv(tiny_models().history))
    meta = json.loads((tiny_models().v1 / "metadata.json").read_text())
    outcome = TuneOutcome(
        artifact_dir=str(tiny_models().v1), metrics={"val_mae": 0.01}, config=meta["model"],
        data_range=tuple(meta["data_range"]), symbol=SYMBOL, interval="1h", horizon=1,
        code_version="abc123", experiment_path=str(tmp_path / "tune"), restored=False,
    )
    settings = TuneSettings(data_path=str(data), symbol=SYMBOL, last_rows=None, max_epochs=1)
    record = register_outcome(outcome, settings, backtest_folds=1, backtest_test_size=60)
    assert record["name"] == "crypto-btc-usdt-1h-h1" and record["code_version"] == "abc123"
    assert record["metrics"]["validation"] == {"val_mae": 0.01}
    assert record["metrics"]["walkforward"]["persistence"]["mase"] == pytest.approx(1.0)
    copied = Path(record["artifact_uri"])
    assert copied.is_relative_to(tmp_path / "data") and (copied / BACKTEST_FILE).is_file()

    async def current() -> int | None:
        db = open_backend("database", f"sqlite:///{tmp_path}/registry.db")
        await db.connect()
        try:
            found = await ModelRegistry(db).current("crypto-btc-usdt-1h-h1")
            return None if found is None else found.version
        finally:
            await db.close()

    assert asyncio.run(current()) == 1
