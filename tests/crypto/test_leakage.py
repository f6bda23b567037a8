"""Changing data after t must not change anything computed at or before t."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from actors.crypto.baselines import (
    DriftForecaster,
    Forecaster,
    MovingAverageForecaster,
    PersistenceForecaster,
    SklearnForecaster,
)
from actors.crypto.features import FeatureConfig, build_features
from actors.crypto.sentiment import SentimentItem, aggregate_sentiment, series_for
from actors.crypto.sequence import SequenceConfig, SequenceForecaster
from actors.crypto.walkforward import WalkForwardConfig, walk_forward
from tests.crypto.synthetic import perturb_after, synthetic_candles

CANDLES = synthetic_candles(900, seed=3, phi=0.2)
T = CANDLES.index[700]
CHANGED = perturb_after(CANDLES, T)


def _same_up_to(a: pd.Series | pd.DataFrame, b: pd.Series | pd.DataFrame) -> None:
    left, right = a.loc[:T], b.loc[:T]
    assert len(left) > 0
    np.testing.assert_array_equal(left.to_numpy(), right.to_numpy())


def test_the_perturbation_is_real() -> None:
    assert (
        CHANGED.loc[CHANGED.index > T, "close"] != CANDLES.loc[CANDLES.index > T, "close"]
    ).all()
    pd.testing.assert_frame_equal(CHANGED.loc[:T], CANDLES.loc[:T])


def test_features_do_not_look_ahead() -> None:
    before, after = build_features(CANDLES), build_features(CHANGED)
    _same_up_to(before, after)
    assert not before.loc[before.index > T].equals(after.loc[after.index > T])


def test_sentiment_features_use_only_ended_buckets() -> None:
    times = pd.date_range(CANDLES.index[0], CANDLES.index[-1], freq="37min")
    words = ["great rally", "terrible crash", "flat day"]
    items = [SentimentItem(t, "BTC/USDT", words[i % 3]) for i, t in enumerate(times)]
    # items that become public after the close of candle T (T + 1h) are all different
    close_t = T + pd.Timedelta("1h")
    late = [
        SentimentItem(i.timestamp, i.symbol, "record surge" if i.timestamp >= close_t else i.text)
        for i in items
    ]
    config = FeatureConfig(sentiment=True)
    a = build_features(
        CANDLES, config, sentiment=series_for(aggregate_sentiment(items), "BTC/USDT")
    )
    b = build_features(CANDLES, config, sentiment=series_for(aggregate_sentiment(late), "BTC/USDT"))
    _same_up_to(a, b)
    assert not a["sent_mean"].equals(b["sent_mean"])


MODELS: dict[str, Callable[[], Forecaster]] = {
    "persistence": lambda: PersistenceForecaster(3),
    "drift": lambda: DriftForecaster(3),
    "ma": lambda: MovingAverageForecaster(3, window=12),
    "ridge": lambda: SklearnForecaster(3, "ridge"),
    "gbr": lambda: SklearnForecaster(3, "gbr"),
    "lstm": lambda: SequenceForecaster(3, SequenceConfig(window=8, units=4, epochs=1)),
    "tcn": lambda: SequenceForecaster(
        3, SequenceConfig(architecture="tcn", window=8, units=4, epochs=1)
    ),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_predictions_do_not_look_ahead(name: str) -> None:
    model = MODELS[name]()
    model.fit(CANDLES.iloc[:500])
    since = CANDLES.index[450]
    before = model.predict(CANDLES, since=since)
    after = model.predict(CHANGED, since=since)
    assert before.loc[:T].notna().sum() > 200
    _same_up_to(before, after)
    if name not in ("persistence", "drift"):
        assert not np.allclose(before.loc[before.index > T], after.loc[after.index > T])


def test_walk_forward_forecasts_do_not_look_ahead() -> None:
    config = WalkForwardConfig(horizon=2, initial_train=400, test_size=250)
    models: dict[str, Callable[[], Forecaster]] = {
        "ma": lambda: MovingAverageForecaster(2, window=12),
        "ridge": lambda: SklearnForecaster(2, "ridge"),
        "lstm": lambda: SequenceForecaster(2, SequenceConfig(window=8, units=4, epochs=1)),
    }
    a = walk_forward(CANDLES, models, config).predictions
    b = walk_forward(CHANGED, models, config).predictions
    # the realised target at t uses close[t + 2]: compare forecasts, and targets up to T - 2
    _same_up_to(a.drop(columns="actual"), b.drop(columns="actual"))
    known = a.index <= CANDLES.index[698]
    np.testing.assert_array_equal(a.loc[known, "actual"], b.loc[known, "actual"])
