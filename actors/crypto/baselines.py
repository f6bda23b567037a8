"""Forecasters of the ``horizon``-candle log return, all with one interface.

``fit(candles, sentiment=None)`` learns only from the candles given (their targets included,
so a caller that passes data up to a cut-off never trains on anything after it);
``predict(candles, sentiment=None, since=None)`` returns, for every candle ``t`` (or those
``>= since``), the forecast of ``log(close[t + h] / close[t])`` made with data up to ``t``,
NaN where there is not enough history.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from actors.crypto.errors import CryptoError, InsufficientDataError
from actors.crypto.features import FeatureConfig, build_features, future_return
from actors.crypto.symbols import validate_horizon


@runtime_checkable
class Forecaster(Protocol):
    name: str
    horizon: int

    def fit(self, candles: pd.DataFrame, sentiment: pd.DataFrame | None = None) -> Any: ...

    def predict(
        self,
        candles: pd.DataFrame,
        sentiment: pd.DataFrame | None = None,
        since: pd.Timestamp | None = None,
    ) -> pd.Series: ...


def _since(series: pd.Series, since: pd.Timestamp | None) -> pd.Series:
    return series if since is None else series.loc[pd.Timestamp(since) :]


class _ConstantForecaster:
    """A baseline that forecasts the same log return, ``value``, everywhere; nothing to fit."""

    name = "constant"
    value = 0.0

    def __init__(self, horizon: int) -> None:
        self.horizon = validate_horizon(horizon)

    def fit(self, candles: pd.DataFrame, sentiment: pd.DataFrame | None = None) -> Any:
        return self

    def predict(
        self,
        candles: pd.DataFrame,
        sentiment: pd.DataFrame | None = None,
        since: pd.Timestamp | None = None,
    ) -> pd.Series:
        return _since(pd.Series(self.value, index=candles.index, name=self.name), since)


class PersistenceForecaster(_ConstantForecaster):
    """Random walk: the price stays where it is (zero return). The reference for MASE/DM."""

    name = "persistence"
    value = 0.0


class DriftForecaster:
    """Random walk with drift: the mean ``horizon``-step log return of the training data."""

    name = "drift"

    def __init__(self, horizon: int) -> None:
        self.horizon = validate_horizon(horizon)
        self.drift_: float | None = None

    def fit(self, candles: pd.DataFrame, sentiment: pd.DataFrame | None = None) -> Any:
        target = future_return(candles, self.horizon).dropna()
        if target.empty:
            raise InsufficientDataError(f"drift needs more than {self.horizon} candles")
        self.drift_ = float(target.mean())
        return self

    def predict(
        self,
        candles: pd.DataFrame,
        sentiment: pd.DataFrame | None = None,
        since: pd.Timestamp | None = None,
    ) -> pd.Series:
        if self.drift_ is None:
            raise CryptoError("fit() the drift forecaster before predict()")
        return _since(pd.Series(self.drift_, index=candles.index, name=self.name), since)


class AlwaysUpForecaster(_ConstantForecaster):
    """Always up: a direction-only baseline. Its return forecast is a constant, negligible
    positive number (``1e-9``) so that it calls "up" everywhere while its MAE equals
    persistence's to about nine digits."""

    name = "always_up"
    EPSILON = 1e-9
    value = EPSILON


class MovingAverageForecaster:
    """Mean reversion to the moving average: the price returns to the mean of the last
    ``window`` closes (forecast ``log(SMA / close)``)."""

    def __init__(self, horizon: int, window: int = 24) -> None:
        self.horizon = validate_horizon(horizon)
        if window < 2:
            raise CryptoError(f"moving-average window must be >= 2, got {window}")
        self.window = window
        self.name = f"ma{window}"

    def fit(self, candles: pd.DataFrame, sentiment: pd.DataFrame | None = None) -> Any:
        return self

    def predict(
        self,
        candles: pd.DataFrame,
        sentiment: pd.DataFrame | None = None,
        since: pd.Timestamp | None = None,
    ) -> pd.Series:
        close = candles["close"]
        sma = close.rolling(self.window, min_periods=self.window).mean()
        return _since(np.log(sma / close).rename(self.name), since)


class SklearnForecaster:
    """A scikit-learn regressor on :func:`build_features` (``ridge`` or ``gbr``)."""

    def __init__(
        self,
        horizon: int,
        kind: str = "ridge",
        *,
        features: FeatureConfig | None = None,
        interval: str = "1h",
        alpha: float = 10.0,
        seed: int = 0,
    ) -> None:
        self.horizon = validate_horizon(horizon)
        if kind not in ("ridge", "gbr"):
            raise CryptoError(f"unknown scikit-learn model {kind!r}; use ridge or gbr")
        self.kind = kind
        self.name = kind
        self.features = features or FeatureConfig()
        self.interval = interval
        self.alpha = alpha
        self.seed = seed
        self.model_: Pipeline | None = None

    def _estimator(self) -> Pipeline:
        if self.kind == "ridge":
            return make_pipeline(StandardScaler(), Ridge(alpha=self.alpha))
        return make_pipeline(
            StandardScaler(),
            HistGradientBoostingRegressor(
                max_iter=100, learning_rate=0.05, max_leaf_nodes=15, random_state=self.seed
            ),
        )

    def fit(self, candles: pd.DataFrame, sentiment: pd.DataFrame | None = None) -> Any:
        x = build_features(candles, self.features, sentiment=sentiment, interval=self.interval)
        y = future_return(candles, self.horizon)
        ok = x.notna().all(axis=1) & y.notna()
        if ok.sum() < 50:
            raise InsufficientDataError(f"{self.name} needs at least 50 complete training rows")
        self.model_ = self._estimator().fit(x.loc[ok].to_numpy(), y.loc[ok].to_numpy())
        return self

    def predict(
        self,
        candles: pd.DataFrame,
        sentiment: pd.DataFrame | None = None,
        since: pd.Timestamp | None = None,
    ) -> pd.Series:
        if self.model_ is None:
            raise CryptoError(f"fit() the {self.name} forecaster before predict()")
        x = _since(
            build_features(candles, self.features, sentiment=sentiment, interval=self.interval),
            since,
        )
        out = pd.Series(np.nan, index=x.index, name=self.name)
        ok = x.notna().all(axis=1)
        if ok.any():
            out.loc[ok] = self.model_.predict(x.loc[ok].to_numpy())
        return out
