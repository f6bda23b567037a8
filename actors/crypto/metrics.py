"""Forecast accuracy against the persistence (random-walk) forecast, with significance tests.

All inputs are aligned arrays of realised returns and forecasts of the same target. The
persistence forecast of a return is zero, so its absolute error is ``|actual|``; MASE here is
the out-of-sample MAE ratio to that forecast on the same points (persistence scores exactly 1).

The skill verdict (:func:`skill_verdict`) needs a *minimum effect size* besides significance:
a model only shows ``skill`` when its MASE is at most ``1 - min_improvement`` and the
Diebold-Mariano test rejects equal accuracy; it is ``worse`` when its MASE is above 1 and the
test rejects; otherwise ``none``. (A constant drift wins a DM test at MASE 0.9995 in a trending
market: significant, and economically nil.)

Direction calls are tested against the *majority-direction* baseline (always up, or always
down, whichever the training data saw more often) with McNemar's exact test on the same
points, not against a coin: in a trending market "always up" beats 0.5 without any skill.
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
class BaselineDirectionResult:
    """Model direction calls vs the majority-direction baseline on the same points."""

    baseline_hit_rate: float  # the baseline's hit rate on the points the model called
    model_only: int  # points the model got right and the baseline wrong
    baseline_only: int  # points the baseline got right and the model wrong
    p_value: float  # McNemar's exact test (one-sided: the model is right more often)


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
    baseline_hit_rate: float = math.nan
    """Hit rate of the majority-direction baseline on the points the model called."""
    direction_vs_baseline_p_value: float = 1.0
    """McNemar's exact test (one-sided) of the model's direction calls vs that baseline."""

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


def direction_vs_baseline(
    actual: np.ndarray, direction: np.ndarray, baseline: np.ndarray
) -> BaselineDirectionResult:
    """McNemar's exact test of the model's direction calls (``sign(direction)``, zeros are no
    call) against the baseline's calls (``sign(baseline)``, e.g. +1 everywhere: always up)
    on the points the model called. Only the discordant points count: ``b`` where only the
    model is right, ``c`` where only the baseline is; under equal accuracy ``b ~ Bin(b + c,
    1/2)``, and the one-sided p-value is ``P(X >= b)``."""
    actual, direction = np.asarray(actual, float), np.asarray(direction, float)
    baseline = np.asarray(baseline, float)
    called = np.sign(direction) != 0
    if not called.any():
        return BaselineDirectionResult(math.nan, 0, 0, 1.0)
    truth = np.sign(actual[called])
    model_hit = np.sign(direction[called]) == truth
    base_hit = np.sign(baseline[called]) == truth
    b = int((model_hit & ~base_hit).sum())
    c = int((~model_hit & base_hit).sum())
    p = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5, "greater").pvalue)
    return BaselineDirectionResult(float(base_hit.mean()), b, c, p)


def majority_direction(targets: np.ndarray) -> float:
    """+1 when the (training) targets went up at least as often as down, else -1."""
    values = np.asarray(targets, float)
    values = values[np.isfinite(values)]
    return 1.0 if (values > 0).sum() >= (values < 0).sum() else -1.0


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
    name: str,
    actual: np.ndarray,
    forecast: np.ndarray,
    *,
    horizon: int = 1,
    direction: np.ndarray | None = None,
    baseline_direction: np.ndarray | None = None,
) -> ForecastMetrics:
    """All metrics of ``forecast`` against persistence (zero) on the same points.

    ``direction``: the model's direction calls when they are not the sign of ``forecast``
    (a model with a direction head: ``prob_up - 0.5``); ``baseline_direction``: the
    majority-direction baseline's calls (+1/-1 per point; default always up)."""
    actual = np.asarray(actual, dtype=float)
    forecast = np.asarray(forecast, dtype=float)
    calls = forecast if direction is None else np.asarray(direction, dtype=float)
    base = np.ones_like(actual) if baseline_direction is None else np.asarray(
        baseline_direction, dtype=float)
    if not actual.shape == forecast.shape == calls.shape == base.shape:
        raise ValueError("actual, forecast and directions must have the same shape")
    ok = np.isfinite(actual) & np.isfinite(forecast) & np.isfinite(calls) & np.isfinite(base)
    actual, forecast, calls, base = actual[ok], forecast[ok], calls[ok], base[ok]
    if len(actual) < 3:
        raise InsufficientDataError(f"{name}: fewer than 3 scorable forecasts")
    hits = directional_accuracy(actual, calls)
    versus = direction_vs_baseline(actual, calls, base)
    dm = diebold_mariano(actual, forecast, np.zeros_like(actual), horizon=horizon)
    return ForecastMetrics(
        model=name,
        n=len(actual),
        mae=mae(actual, forecast),
        rmse=rmse(actual, forecast),
        mase=mase(actual, forecast),
        hit_rate=hits.hit_rate,
        direction_calls=hits.calls,
        direction_p_value=hits.p_value,
        dm_statistic=dm.statistic,
        dm_p_value=dm.p_value,
        baseline_hit_rate=versus.baseline_hit_rate,
        direction_vs_baseline_p_value=versus.p_value,
    )


SKILL, WORSE, NONE = "skill", "worse", "none"
DEFAULT_MIN_IMPROVEMENT = 0.02
"""Smallest MAE improvement over persistence called skill (0.02: MASE <= 0.98)."""
NO_SKILL = "no demonstrated skill"


def skill_verdict(
    report: ForecastMetrics,
    *,
    alpha: float = 0.05,
    min_improvement: float = DEFAULT_MIN_IMPROVEMENT,
) -> str:
    """``skill``: MASE <= ``1 - min_improvement`` and the DM test rejects equal accuracy at
    ``alpha``; ``worse``: MASE > 1 and the test rejects (significantly worse than
    persistence); ``none`` otherwise (including a significant but too small improvement)."""
    if not 0.0 <= min_improvement < 1.0:
        raise ValueError(f"min_improvement must be in [0, 1), got {min_improvement}")
    significant = math.isfinite(report.dm_p_value) and report.dm_p_value < alpha
    if significant and report.mase <= 1.0 - min_improvement and report.mase < 1.0:
        return SKILL
    if significant and report.mase > 1.0:
        return WORSE
    return NONE


def skill_statement(
    report: ForecastMetrics,
    alpha: float = 0.05,
    *,
    min_improvement: float = DEFAULT_MIN_IMPROVEMENT,
) -> str:
    """The verdict of :func:`skill_verdict` as one sentence with its evidence."""
    verdict = skill_verdict(report, alpha=alpha, min_improvement=min_improvement)
    evidence = f"MASE {report.mase:.3f}, DM p={report.dm_p_value:.3g} (n={report.n})"
    if verdict == SKILL:
        return f"skill vs persistence: {evidence}"
    if verdict == WORSE:
        return f"significantly worse than persistence: {evidence}"
    floor = 1.0 - min_improvement
    if report.mase < 1.0 and math.isfinite(report.dm_p_value) and report.dm_p_value < alpha:
        return (f"{NO_SKILL}: {evidence}; the improvement is significant but smaller than "
                f"the required {min_improvement:.0%} (MASE <= {floor:.2f})")
    return NO_SKILL
