"""Uplift evaluation: Qini curve, Qini coefficient and a bootstrap confidence interval.

q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k) over the top-k customers by predicted uplift
(incremental outcomes, in treated-group units). The Qini coefficient is the mean over
k = 1..n of (q(k) - k/n * q(n)) / n: the area between the model's curve and random
targeting, per customer; 0 is random, higher is better."""

from __future__ import annotations

import numpy as np


def qini_curve(y: np.ndarray, t: np.ndarray, uplift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fraction targeted, q(k)) for k = 0..n, ties in `uplift` broken by a stable sort."""
    order = np.argsort(-np.asarray(uplift, dtype=float), kind="stable")
    y = np.asarray(y, dtype=float)[order]
    t = np.asarray(t, dtype=float)[order]
    nt = np.cumsum(t)
    nc = np.cumsum(1 - t)
    yt = np.cumsum(y * t)
    yc = np.cumsum(y * (1 - t))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = yt - np.where(nc > 0, yc * nt / nc, 0.0)
    n = len(y)
    return np.arange(n + 1) / n, np.concatenate([[0.0], q])


def qini_coefficient(y: np.ndarray, t: np.ndarray, uplift: np.ndarray) -> float:
    _, q = qini_curve(y, t, uplift)
    n = len(q) - 1
    if n == 0:
        return 0.0
    k = np.arange(1, n + 1)
    return float(np.mean(q[1:] - k / n * q[-1]) / n)


def uplift_at(y: np.ndarray, t: np.ndarray, uplift: np.ndarray, fraction: float) -> float:
    """Observed uplift (treated rate - control rate) in the top `fraction` by score."""
    order = np.argsort(-np.asarray(uplift, dtype=float), kind="stable")
    top = order[: max(1, round(fraction * len(order)))]
    yt, tt = np.asarray(y)[top], np.asarray(t)[top]
    if tt.sum() == 0 or (1 - tt).sum() == 0:
        return float("nan")
    return float(yt[tt == 1].mean() - yt[tt == 0].mean())


def bootstrap_qini(
    y: np.ndarray,
    t: np.ndarray,
    uplift: np.ndarray,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """Qini coefficient of the model and of random scores, with percentile CIs from
    resampling customers (the same resample for both)."""
    rng = np.random.default_rng(seed)
    y, t, uplift = (np.asarray(v) for v in (y, t, uplift))
    n = len(y)
    model, rand = np.empty(n_boot), np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.integers(0, n, n)
        model[i] = qini_coefficient(y[idx], t[idx], uplift[idx])
        rand[i] = qini_coefficient(y[idx], t[idx], rng.random(n))
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {
        "qini": qini_coefficient(y, t, uplift),
        "qini_ci_low": float(np.percentile(model, lo)),
        "qini_ci_high": float(np.percentile(model, hi)),
        "random_qini_mean": float(rand.mean()),
        "random_qini_ci_low": float(np.percentile(rand, lo)),
        "random_qini_ci_high": float(np.percentile(rand, hi)),
        "p_model_le_random": float(np.mean(model <= rand)),
    }
