"""Forecast accuracy against the persistence (random-walk) forecast, with significance tests.

All inputs are aligned arrays of realised returns and forecasts of the same target. The
persistence forecast of a return is zero, so its absolute error is ``|actual|``; MASE here is
the out-of-sample MAE ratio to that forecast on the same points (persistence scores exactly 1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from actors.crypto.errors import InsufficientDataError


@dataclass(frozen=True)
class DirectionResult:
    hits: int
    calls: int  # forecasts with a non-zero sign (a zero forecast makes no directional call)
    hit_rate: float
    p_value: float  # one-sided binomial test of hit_rate > p0


@dataclass(frozen=True)
class DMResult:
    statistic: float  # negative: the model's loss is lower than the benchmark's
    p_value: float  # two-sided, Harvey-Leybourne-Newbold small-sample correction, t(n-1)
    n: int


@dataclass(frozen=True)
class ForecastMetrics:
    """Out-of-sample accuracy of one model vs persistence on the same forecast points."""

    model: str
    n: int
    mae: float
    rmse: float
    mase: float
    hit_rate: float
    direction_calls: int
    direction_p_value: float
    dm_statistic: float
    dm_p_value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))))


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(actual) - np.asarray(forecast)) ** 2)))


def mase(actual: np.ndarray, forecast: np.ndarray) -> float:
    """MAE of ``forecast`` divided by the MAE of the zero-return (persistence) forecast."""
    scale = float(np.mean(np.abs(actual)))
    if scale == 0.0:
        raise InsufficientDataError("MASE is undefined when every realised return is zero")
    return mae(actual, forecast) / scale


def directional_accuracy(
    actual: np.ndarray, forecast: np.ndarray, p0: float = 0.5
) -> DirectionResult:
    """Share of non-zero forecasts whose sign matches the realised return's sign (a zero
    realised return counts as a miss), with a one-sided binomial test against ``p0``."""
    actual, forecast = np.asarray(actual), np.asarray(forecast)
    called = np.sign(forecast) != 0
    calls = int(called.sum())
    if calls == 0:
        return DirectionResult(0, 0, math.nan, 1.0)
    hits = int((np.sign(forecast[called]) == np.sign(actual[called])).sum())
    p = stats.binomtest(hits, calls, p0, alternative="greater").pvalue
    return DirectionResult(hits, calls, hits / calls, float(p))


def diebold_mariano(
    actual: np.ndarray,
    forecast: np.ndarray,
    benchmark: np.ndarray,
    *,
    horizon: int = 1,
    loss: str = "absolute",
) -> DMResult:
    """Diebold-Mariano test of equal predictive accuracy of ``forecast`` and ``benchmark``.

    The loss differential's long-run variance uses ``horizon - 1`` autocovariances (the
    overlap of h-step forecasts); the statistic carries the Harvey-Leybourne-Newbold (1997)
    correction and is compared with Student's t with ``n - 1`` degrees of freedom.
    """
    actual = np.asarray(actual, dtype=float)
    e1 = actual - np.asarray(forecast, dtype=float)
    e2 = actual - np.asarray(benchmark, dtype=float)
    if loss == "absolute":
        d = np.abs(e1) - np.abs(e2)
    elif loss == "squared":
        d = e1**2 - e2**2
    else:
        raise ValueError(f"loss must be 'absolute' or 'squared', got {loss!r}")
    n = len(d)
    if n < 3:
        raise InsufficientDataError("the Diebold-Mariano test needs at least 3 forecasts")
    mean = float(d.mean())
    centred = d - mean
    gamma = [float(np.dot(centred[k:], centred[: n - k]) / n) for k in range(min(horizon, n))]
    variance = (gamma[0] + 2 * sum(gamma[1:])) / n
    if variance <= 0:
        if mean == 0.0:  # identical losses: no evidence either way
            return DMResult(0.0, 1.0, n)
        variance = gamma[0] / n  # negative long-run estimate: fall back to the plain variance
        if variance <= 0:
            return DMResult(math.copysign(math.inf, mean), 0.0, n)
    dm = mean / math.sqrt(variance)
    h = horizon
    correction = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    stat = dm * correction
    p = 2 * stats.t.sf(abs(stat), df=n - 1)
    return DMResult(float(stat), float(p), n)


def evaluate_forecast(
    name: str, actual: np.ndarray, forecast: np.ndarray, *, horizon: int = 1
) -> ForecastMetrics:
    """All metrics of ``forecast`` against persistence (zero) on the same points."""
    actual = np.asarray(actual, dtype=float)
    forecast = np.asarray(forecast, dtype=float)
    if actual.shape != forecast.shape:
        raise ValueError("actual and forecast must have the same shape")
    ok = np.isfinite(actual) & np.isfinite(forecast)
    actual, forecast = actual[ok], forecast[ok]
    if len(actual) < 3:
        raise InsufficientDataError(f"{name}: fewer than 3 scorable forecasts")
    direction = directional_accuracy(actual, forecast)
    dm = diebold_mariano(actual, forecast, np.zeros_like(actual), horizon=horizon)
    return ForecastMetrics(
        model=name,
        n=len(actual),
        mae=mae(actual, forecast),
        rmse=rmse(actual, forecast),
        mase=mase(actual, forecast),
        hit_rate=direction.hit_rate,
        direction_calls=direction.calls,
        direction_p_value=direction.p_value,
        dm_statistic=dm.statistic,
        dm_p_value=dm.p_value,
    )


def skill_statement(report: ForecastMetrics, alpha: float = 0.05) -> str:
    """``"no demonstrated skill"`` unless MASE < 1 and the DM test rejects equal accuracy at
    ``alpha``; otherwise a one-line statement of the skill shown."""
    if report.mase < 1.0 and report.dm_p_value < alpha:
        return (
            f"skill vs persistence: MASE {report.mase:.3f}, "
            f"DM p={report.dm_p_value:.3g} (n={report.n})"
        )
    return "no demonstrated skill"
