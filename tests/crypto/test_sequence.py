from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from actors.crypto.errors import (
    ArtifactError,
    InsufficientDataError,
    InvalidHorizonError,
    UnknownSymbolError,
)
from actors.crypto.predictor import CryptoPredictor, directions
from actors.crypto.sequence import SequenceConfig, SequenceForecaster
from tests.crypto.synthetic import synthetic_candles

CANDLES = synthetic_candles(700, seed=7, phi=0.3)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory):
    model = SequenceForecaster(
        4, SequenceConfig(architecture="tcn", window=12, units=6, epochs=2), symbol="ETHUSDT"
    )
    model.fit(CANDLES.iloc[:550])
    path = model.save(
        tmp_path_factory.mktemp("art") / "v1",
        metrics={"val_mae": 0.01},
        extra={"code_version": "abc123"},
    )
    return model, path


def test_round_trip_gives_identical_predictions(artifact) -> None:
    model, path = artifact
    loaded = SequenceForecaster.load(path)
    since = CANDLES.index[500]
    a = model.predict_frame(CANDLES, since=since)
    b = loaded.predict_frame(CANDLES, since=since)
    assert a.notna().all().all()
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert (loaded.symbol, loaded.horizon, loaded.interval) == ("ETH/USDT", 4, "1h")
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["metrics"] == {"val_mae": 0.01} and meta["code_version"] == "abc123"
    assert meta["data_range"][0] == CANDLES.index[0].isoformat()
    assert set(meta["scaler"]) == {"columns", "mean", "std", "target_mean", "target_std"}
    assert meta["model"]["architecture"] == "tcn"


def test_lstm_round_trip(tmp_path) -> None:
    model = SequenceForecaster(1, SequenceConfig(window=6, units=4, epochs=1))
    model.fit(CANDLES.iloc[:400])
    loaded = SequenceForecaster.load(model.save(tmp_path / "lstm"))
    since = CANDLES.index[600]
    np.testing.assert_array_equal(
        model.predict(CANDLES, since=since).to_numpy(),
        loaded.predict(CANDLES, since=since).to_numpy(),
    )


def test_predictor_latest_and_batch_agree_with_the_model(artifact) -> None:
    model, path = artifact
    predictor = CryptoPredictor.load(path, version="7")
    window = CANDLES.iloc[-predictor.required_history :]
    latest = predictor.predict_latest(window, symbol="eth-usdt", horizon="4")
    full = model.predict_frame(CANDLES, since=CANDLES.index[-1])
    assert latest.predicted_return == pytest.approx(full["return"].iloc[-1], rel=1e-5, abs=1e-9)
    assert latest.prob_up == pytest.approx(full["prob_up"].iloc[-1], rel=1e-5)
    assert latest.as_of == CANDLES.index[-1]
    assert latest.target_time == CANDLES.index[-1] + pd.Timedelta(hours=5)
    assert latest.predicted_close == pytest.approx(
        CANDLES["close"].iloc[-1] * np.exp(latest.predicted_return)
    )
    assert latest.model_version == "7"
    assert latest.direction == ("up" if latest.prob_up > 0.5 else "down")
    assert latest.heads_agree == (latest.direction == latest.return_direction)
    other = CANDLES.iloc[-predictor.required_history - 30 : -30]
    batch = predictor.predict_batch([(window, None), (other, None)])
    assert batch[0].predicted_return == pytest.approx(latest.predicted_return, rel=1e-5)
    assert batch[1].as_of == other.index[-1]
    assert json.dumps(latest.to_dict())


def test_predictor_rejects_bad_requests(artifact) -> None:
    _, path = artifact
    predictor = CryptoPredictor.load(path)
    window = CANDLES.iloc[-predictor.required_history :]
    with pytest.raises(UnknownSymbolError):
        predictor.predict_latest(window, symbol="BTC/USDT")
    with pytest.raises(UnknownSymbolError):
        predictor.predict_latest(window, symbol="???")
    with pytest.raises(InvalidHorizonError):
        predictor.predict_latest(window, symbol="ETH/USDT", horizon=2)
    with pytest.raises(InvalidHorizonError):
        predictor.predict_latest(window, horizon=0)
    with pytest.raises(InsufficientDataError):
        predictor.predict_latest(window.iloc[5:])


def test_broken_artifacts_raise_artifact_error(artifact, tmp_path) -> None:
    with pytest.raises(ArtifactError):
        SequenceForecaster.load(tmp_path / "nothing")
    _, path = artifact
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.keras").write_bytes((path / "model.keras").read_bytes())
    (broken / "metadata.json").write_text(json.dumps({"format": "armillary.crypto.sequence/1"}))
    with pytest.raises(ArtifactError, match="unreadable"):
        SequenceForecaster.load(broken)
    (broken / "metadata.json").write_text(json.dumps({"format": "other/9"}))
    with pytest.raises(ArtifactError, match="unsupported"):
        SequenceForecaster.load(broken)


def test_bad_model_parameters_raise_typed_errors() -> None:
    with pytest.raises(InvalidHorizonError):
        SequenceForecaster(0)
    with pytest.raises(UnknownSymbolError):
        SequenceForecaster(1, symbol="")
    with pytest.raises(InsufficientDataError):
        SequenceForecaster(1, SequenceConfig(window=8)).fit(CANDLES.iloc[:100])


def test_direction_is_the_direction_head_and_a_disagreement_is_stated() -> None:
    # the case: the return head says up, P(up) is 47 %
    split = directions(0.0004, 0.47)
    assert split["direction"] == "down" and split["return_direction"] == "up"
    assert split["heads_agree"] is False
    assert "disagree" in split["direction_note"] and "47%" in split["direction_note"]
    same = directions(-0.001, 0.2)
    assert (same["direction"], same["return_direction"], same["heads_agree"]) == (
        "down", "down", True)
    assert "disagree" not in same["direction_note"]
    assert directions(0.0, 0.5)["direction"] == "down"  # exactly 50 %: no call of up
    assert directions(0.0, 0.5)["return_direction"] == "flat"
