"""Walk-forward evaluation: retrain every model per fold on data before the fold, forecast the
fold, and score all out-of-sample forecasts against persistence.

Fold ``k`` trains on candles ``[lo, cut)`` — whose targets end before ``cut`` by construction
(the model sees ``close`` only up to ``cut - 1``) — and forecasts candles ``[cut, cut + test)``
from data up to each forecast time. ``expanding`` keeps ``lo = 0``; ``sliding`` keeps the
training window at ``train_size`` candles.

Direction calls: a model with a direction head (``predict_frame`` with ``prob_up``, the
sequence model) calls up when ``prob_up > 0.5`` — the direction it serves — others call the
sign of their return forecast. Each fold also records the majority direction of its training
targets (``baseline_direction``): the always-up/always-down baseline that hit rates are
tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from actors.crypto.baselines import Forecaster, PersistenceForecaster
from actors.crypto.errors import CryptoError, InsufficientDataError
from actors.crypto.features import future_return
from actors.crypto.metrics import ForecastMetrics, evaluate_forecast, majority_direction
from actors.crypto.symbols import validate_horizon

ForecasterFactory = Callable[[], Forecaster]
BASELINE = "baseline_direction"


def direction_column(model: str) -> str:
    """The predictions column of a model's direction-head calls (``prob_up - 0.5``)."""
    return f"{model}:direction"


@dataclass(frozen=True)
class WalkForwardConfig:
    horizon: int = 1
    initial_train: int = 2000
    test_size: int = 500
    n_folds: int | None = None  # None: as many folds as fit; else the last n_folds
    window: Literal["expanding", "sliding"] = "expanding"
    train_size: int | None = None  # sliding window length (default: initial_train)


@dataclass(frozen=True)
class Fold:
    train_start: pd.Timestamp
    train_end: pd.Timestamp  # last training candle (inclusive)
    test_start: pd.Timestamp
    test_end: pd.Timestamp


@dataclass
class WalkForwardReport:
    horizon: int
    folds: list[Fold]
    metrics: dict[str, ForecastMetrics]
    predictions: pd.DataFrame
    """Index: forecast time; columns: ``actual``, one per model, ``<model>:direction`` for
    models with a direction head and ``baseline_direction`` (the fold's majority, +1/-1)."""
    data_range: tuple[pd.Timestamp, pd.Timestamp]
    notes: list[str] = field(default_factory=list)


def fold_bounds(n_rows: int, config: WalkForwardConfig) -> list[tuple[int, int, int]]:
    """``(train_lo, cut, test_hi)`` row positions of each fold; the last fold stops where the
    realised target still exists (``n_rows - horizon``)."""
    h = validate_horizon(config.horizon)
    if config.initial_train < 100 or config.test_size < 1:
        raise CryptoError("initial_train must be >= 100 candles and test_size >= 1")
    usable = n_rows - h
    cuts = list(range(config.initial_train, usable, config.test_size))
    if not cuts:
        raise InsufficientDataError(
            f"{n_rows} candles are too few for initial_train={config.initial_train} and horizon={h}"
        )
    if config.n_folds is not None:
        if config.n_folds < 1:
            raise CryptoError("n_folds must be >= 1")
        # anchor the folds on the most recent data
        last_cut = cuts[-1]
        cuts = [c for c in range(last_cut, config.initial_train - 1, -config.test_size)]
        cuts = sorted(cuts[: config.n_folds])
    size = config.train_size or config.initial_train
    bounds = []
    for cut in cuts:
        lo = 0 if config.window == "expanding" else max(0, cut - size)
        bounds.append((lo, cut, min(cut + config.test_size, usable)))
    return bounds


def walk_forward(
    candles: pd.DataFrame,
    models: Mapping[str, ForecasterFactory],
    config: WalkForwardConfig,
    *,
    sentiment: pd.DataFrame | None = None,
) -> WalkForwardReport:
    """Evaluate fresh instances from ``models`` (name → factory) fold by fold. Persistence is
    always scored too (as ``"persistence"``); every model is scored on the same points."""
    h = validate_horizon(config.horizon)
    bounds = fold_bounds(len(candles), config)
    factories: dict[str, ForecasterFactory] = {
        "persistence": lambda: PersistenceForecaster(h),
        **dict(models),
    }
    target = future_return(candles, h)
    pieces: list[pd.DataFrame] = []
    folds: list[Fold] = []
    for lo, cut, hi in bounds:
        train = candles.iloc[lo:cut]
        visible = candles.iloc[:hi]
        since = candles.index[cut]
        actual = target.iloc[cut:hi]
        trained_on = target.iloc[lo : cut - h]  # targets realised before the cut
        columns = {"actual": actual,
                   BASELINE: pd.Series(majority_direction(trained_on.to_numpy()),
                                       index=actual.index)}
        for name, factory in factories.items():
            model = factory()
            if model.horizon != h:
                raise CryptoError(f"model {name} has horizon {model.horizon}, expected {h}")
            model.fit(train, sentiment)
            frame = getattr(model, "predict_frame", None)
            if frame is not None:
                both = frame(visible, sentiment, since=since).iloc[: hi - cut]
                columns[name] = both["return"]
                columns[direction_column(name)] = both["prob_up"] - 0.5
            else:
                columns[name] = model.predict(visible, sentiment, since=since).iloc[: hi - cut]
        pieces.append(pd.DataFrame(columns))
        folds.append(Fold(candles.index[lo], candles.index[cut - 1], since, candles.index[hi - 1]))
    predictions = pd.concat(pieces)
    notes = []
    scored = predictions.dropna()
    if len(scored) < len(predictions):
        notes.append(f"{len(predictions) - len(scored)} forecast times dropped (no forecast)")
    metrics = {
        name: evaluate_forecast(
            name, scored["actual"].to_numpy(), scored[name].to_numpy(), horizon=h,
            direction=(scored[direction_column(name)].to_numpy()
                       if direction_column(name) in scored else None),
            baseline_direction=scored[BASELINE].to_numpy(),
        )
        for name in factories
    }
    return WalkForwardReport(
        horizon=h,
        folds=folds,
        metrics=metrics,
        predictions=predictions,
        data_range=(candles.index[bounds[0][0]], candles.index[bounds[-1][2] - 1 + h]),
        notes=notes,
    )
