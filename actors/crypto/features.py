"""Features and targets, computed strictly from data at or before each candle.

A row ``t`` of :func:`build_features` uses only candles ``<= t`` (rolling windows, exponential
averages, lags) and sentiment buckets that had *ended* by the close of candle ``t``. The target
:func:`future_return` at ``t`` is the log return from the close of ``t`` to the close of
``t + horizon`` candles — the only forward-looking quantity, never an input.
Exponential averages depend (vanishingly) on where the series starts; ``FeatureConfig.warmup``
is the history after which that dependence is negligible.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from actors.crypto.errors import InsufficientDataError
from actors.crypto.symbols import parse_interval, validate_horizon


@dataclass(frozen=True)
class FeatureConfig:
    """Which features to compute; JSON round-trips through :meth:`to_dict`/:meth:`from_dict`."""

    return_lags: int = 6
    momentum_windows: tuple[int, ...] = (6, 24)
    volatility_windows: tuple[int, ...] = (12, 48)
    rsi_period: int = 14
    macd: tuple[int, int, int] = (12, 26, 9)
    bollinger: tuple[int, float] = (20, 2.0)
    volume_window: int = 24
    sentiment: bool = False
    sentiment_freq: str = "1h"
    sentiment_window: int = 24
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def warmup(self) -> int:
        """Candles of history before the features are valid and have forgotten the start."""
        longest = max(
            self.return_lags + 1,
            *self.momentum_windows,
            *(w + 1 for w in self.volatility_windows),
            self.volume_window + 1,
            self.bollinger[0],
        )
        return max(longest, 4 * max(self.macd[1] + self.macd[2], self.rsi_period))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("momentum_windows", "volatility_windows", "macd", "bollinger"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


def future_return(candles: pd.DataFrame, horizon: int) -> pd.Series:
    """Target: ``log(close[t + horizon] / close[t])`` (NaN for the last ``horizon`` rows)."""
    horizon = validate_horizon(horizon)
    close = candles["close"]
    return np.log(close.shift(-horizon) / close).rename(f"future_return_{horizon}")


def build_features(
    candles: pd.DataFrame,
    config: FeatureConfig | None = None,
    *,
    sentiment: pd.DataFrame | None = None,
    interval: str = "1h",
) -> pd.DataFrame:
    """The feature matrix, one row per candle (NaN until enough history exists).

    ``sentiment`` is one symbol's bucket series from
    :func:`actors.crypto.sentiment.series_for` (``compound_mean``, ``count``), required when
    ``config.sentiment`` is set; ``interval`` is the candle interval (to know candle close times).
    """
    config = config or FeatureConfig()
    if len(candles) == 0:
        raise InsufficientDataError("no candles to compute features from")
    close = candles["close"]
    log_close = np.log(close)
    ret = log_close.diff()
    cols: dict[str, pd.Series] = {}
    for lag in range(config.return_lags):
        cols[f"ret_lag{lag}"] = ret.shift(lag)
    for w in config.momentum_windows:
        cols[f"mom_{w}"] = log_close - log_close.shift(w)
    for w in config.volatility_windows:
        cols[f"vol_{w}"] = ret.rolling(w, min_periods=w).std()
    cols["rsi"] = _rsi(close, config.rsi_period) / 100.0 - 0.5
    fast, slow, signal = config.macd
    macd = _ema(close, fast) - _ema(close, slow)
    cols["macd"] = macd / close
    cols["macd_hist"] = (macd - _ema(macd, signal)) / close
    bw, k = config.bollinger
    mean = close.rolling(bw, min_periods=bw).mean()
    std = close.rolling(bw, min_periods=bw).std()
    cols["boll_pos"] = (close - mean) / (k * std).replace(0.0, np.nan)
    cols["boll_width"] = 2 * k * std / mean
    cols["range"] = np.log(candles["high"] / candles["low"])
    cols["body"] = np.log(close / candles["open"])
    log_vol = np.log1p(candles["volume"].clip(lower=0))
    vw = config.volume_window
    vol_std = log_vol.rolling(vw, min_periods=vw).std().replace(0.0, np.nan)
    cols["volume_z"] = (log_vol - log_vol.rolling(vw, min_periods=vw).mean()) / vol_std
    frame = pd.DataFrame(cols, index=candles.index)
    # a flat window (zero spread) carries no signal rather than an undefined one
    frame[["boll_pos", "volume_z"]] = frame[["boll_pos", "volume_z"]].fillna(0.0)
    if config.sentiment:
        if sentiment is None:
            raise InsufficientDataError("this feature config needs a sentiment series")
        aligned = align_sentiment(
            sentiment,
            candles.index,
            interval=interval,
            freq=config.sentiment_freq,
            window=config.sentiment_window,
        )
        frame = frame.join(aligned)
    # the first rows (before warmup) are unreliable: EMAs have not forgotten the start
    frame.iloc[: min(config.warmup, len(frame)) - 1] = np.nan
    return frame.replace([np.inf, -np.inf], np.nan)


def align_sentiment(
    sentiment: pd.DataFrame,
    candle_index: pd.DatetimeIndex,
    *,
    interval: str,
    freq: str = "1h",
    window: int = 24,
) -> pd.DataFrame:
    """Per candle: the count-weighted mean compound and the item count over the last ``window``
    sentiment buckets that had ended by the candle's close (``t + interval``)."""
    cols = ["sent_mean", "sent_count"]
    if len(sentiment) == 0:
        return pd.DataFrame(0.0, index=candle_index, columns=cols)
    step = pd.Timedelta(freq)
    buckets = sentiment.sort_index()
    close_times = candle_index + parse_interval(interval)
    end = max(buckets.index[-1], close_times.max().floor(step))
    grid = pd.date_range(buckets.index[0], end, freq=step)
    weighted = (buckets["compound_mean"] * buckets["count"]).reindex(grid, fill_value=0.0)
    count = buckets["count"].reindex(grid, fill_value=0.0)
    sum_w = weighted.rolling(window, min_periods=1).sum()
    sum_n = count.rolling(window, min_periods=1).sum()
    mean = (sum_w / sum_n.replace(0.0, np.nan)).fillna(0.0)
    rolled = pd.DataFrame({"sent_mean": mean, "sent_count": np.log1p(sum_n)})
    rolled.index = grid + step  # a bucket is known once it has ended
    merged = pd.merge_asof(
        pd.DataFrame({"close_time": close_times}),
        rolled.rename_axis("known_at").reset_index(),
        left_on="close_time",
        right_on="known_at",
        direction="backward",
    )
    out = merged[cols].fillna(0.0)
    out.index = candle_index
    return out


def _ema(series: pd.Series, span: int) -> pd.Series:
    return series.ewm(span=span, adjust=False, min_periods=span).mean()


def _rsi(close: pd.Series, period: int) -> pd.Series:
    """Wilder's RSI (0..100)."""
    delta = close.diff()
    gain = delta.clip(lower=0).ewm(alpha=1 / period, adjust=False, min_periods=period).mean()
    loss = (-delta.clip(upper=0)).ewm(alpha=1 / period, adjust=False, min_periods=period).mean()
    rs = gain / loss.replace(0.0, np.nan)
    rsi = 100 - 100 / (1 + rs)
    return rsi.where(loss > 0, 100.0).where(gain.notna())
