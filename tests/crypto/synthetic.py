"""Small synthetic candle series for unit tests (generated, never copied from shared data)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_candles(
    n: int = 1200,
    *,
    seed: int = 0,
    phi: float = 0.0,
    sigma: float = 0.01,
    start: str = "2021-01-01",
    freq: str = "1h",
) -> pd.DataFrame:
    """OHLCV candles whose 1-step log returns follow an AR(1) with coefficient ``phi``
    (``phi=0``: a random walk, nothing to predict)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, sigma, n)
    ret = np.zeros(n)
    for i in range(1, n):
        ret[i] = phi * ret[i - 1] + noise[i]
    close = 100.0 * np.exp(np.cumsum(ret))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0.0, sigma / 2, n))
    high = np.maximum(open_, close) * np.exp(spread)
    low = np.minimum(open_, close) * np.exp(-spread)
    volume = rng.lognormal(3.0, 0.5, n)
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "gap_before": False,
        },
        index=index,
    )


def perturb_after(candles: pd.DataFrame, t: pd.Timestamp, seed: int = 1) -> pd.DataFrame:
    """A copy whose candles strictly after ``t`` are replaced by a different random path."""
    rng = np.random.default_rng(seed)
    out = candles.copy()
    later = out.index > t
    factor = np.exp(rng.normal(0.0, 0.05, int(later.sum())).cumsum())
    for col in ("open", "high", "low", "close"):
        out.loc[later, col] = out.loc[later, col].to_numpy() * factor
    out.loc[later, "volume"] = out.loc[later, "volume"].to_numpy()[::-1] * 3.0
    return out
