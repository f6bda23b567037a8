"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005b)
fitted by maximum likelihood in log-parameter space with scipy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from actors.analytics.errors import InsufficientDataError, NotFittedError


def _arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        summary["frequency"].to_numpy(dtype=float),
        summary["recency"].to_numpy(dtype=float),
        summary["T"].to_numpy(dtype=float),
    )


def _minimize(nll: Any, start: np.ndarray) -> tuple[np.ndarray, float, bool]:
    best = None
    for method in ("L-BFGS-B", "Nelder-Mead"):
        res = minimize(nll, start, method=method, options={"maxiter": 5000})
        if best is None or res.fun < best.fun:
            best = res
        start = res.x
    assert best is not None
    return np.exp(best.x), float(best.fun), bool(best.success)


@dataclass
class BetaGeoModel:
    """BG/NBD: purchases Poisson(lambda) while alive, lambda ~ Gamma(r, alpha); after each
    purchase the customer drops out with probability p ~ Beta(a, b)."""

    params: dict[str, float] = field(default_factory=dict)
    log_likelihood: float = float("nan")
    n_customers: int = 0

    @staticmethod
    def log_likelihood_terms(
        params: np.ndarray, x: np.ndarray, tx: np.ndarray, t_obs: np.ndarray
    ) -> np.ndarray:
        r, alpha, a, b = params
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x) - betaln(a, b)
        a3 = -(r + x) * np.log(alpha + t_obs)
        with np.errstate(divide="ignore"):
            a4 = np.where(
                x > 0,
                np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx),
                -np.inf,
            )
        return a1 + a2 + np.logaddexp(a3, a4)

    def fit(self, summary: pd.DataFrame) -> BetaGeoModel:
        x, tx, t_obs = _arrays(summary)
        if len(x) < 10 or (x > 0).sum() < 2:
            raise InsufficientDataError("BG/NBD needs at least 10 customers, 2 with repeats")
        scale = float(np.max(t_obs)) or 1.0
        # Fit on T rescaled to ~1 (alpha scales with time), then map alpha back.
        def nll(logp: np.ndarray) -> float:
            p = np.exp(logp)
            return -float(self.log_likelihood_terms(p, x, tx / scale, t_obs / scale).sum())

        p, _fun, _ = _minimize(nll, np.log([0.5, 1.0, 1.0, 1.0]))
        r, alpha, a, b = p
        alpha *= scale
        self.params = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
        self.log_likelihood = float(
            self.log_likelihood_terms(np.array([r, alpha, a, b]), x, tx, t_obs).sum()
        )
        self.n_customers = len(x)
        return self

    def _p(self) -> tuple[float, float, float, float]:
        if not self.params:
            raise NotFittedError("BG/NBD model is not fitted")
        p = self.params
        return p["r"], p["alpha"], p["a"], p["b"]

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)] for a customer just acquired (unconditional)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=float)
        z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (
            1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z)
        )

    def conditional_expected_purchases(
        self, t: float, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next `t` units."""
        r, alpha, a, b = self._p()
        x, tx, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        z = t / (alpha + big_t + t)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        return head * body / self._alive_denominator(x, tx, big_t)

    def _alive_denominator(self, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._p()
        ratio = np.where(
            x > 0,
            a / np.maximum(b + x - 1, 1e-300) * ((alpha + big_t) / (alpha + tx)) ** (r + x),
            0.0,
        )
        return 1.0 + ratio

    def probability_alive(
        self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        x, tx, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        return 1.0 / self._alive_denominator(x, tx, big_t)

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "log_likelihood": self.log_likelihood,
                "n_customers": self.n_customers}


# A BG/NBD fit whose dropout process collapsed: the MLE ran to the edge of the parameter
# space (a -> 0, or b -> infinity faster than a), so the mean dropout probability after a
# purchase, a / (a + b), is ~0 and P(alive) ~ 1 for everyone. The thresholds are far from
# any fit with a usable dropout process (CDNOW: a = 0.79, b = 2.43, a / (a + b) = 0.25).
# a and b both large with a sensible ratio is not degenerate: every customer has the same
# dropout probability (the Beta is a point mass), which the model still expresses.
A_MIN, DROPOUT_MIN = 1e-3, 1e-4
R_MIN, R_MAX, ALPHA_MAX_UNITS = 1e-3, 1e3, 1e4


def degenerate_bgnbd(params: dict[str, float], time_span: float) -> list[str]:
    """Why a BG/NBD fit is degenerate (empty when it is not): parameters at a bound of the
    (log-)parameter space or implausible; ``time_span`` is the longest T in the data."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    out = []
    if a < A_MIN or a / (a + b) < DROPOUT_MIN:
        out.append(f"dropout collapsed (a={a:.3g}, b={b:.3g}, mean dropout per purchase "
                   f"a/(a+b)={a / (a + b):.2g}): P(alive) is ~1 for every customer")
    if not R_MIN <= r <= R_MAX:
        out.append(f"purchase-rate shape r={r:.3g} is at a bound ({R_MIN:g}..{R_MAX:g})")
    if alpha > ALPHA_MAX_UNITS * max(time_span, 1.0):
        out.append(f"purchase-rate scale alpha={alpha:.3g} is implausibly large")
    return out


@dataclass
class NBDModel:
    """NBD (Ehrenberg): purchases Poisson(lambda), lambda ~ Gamma(r, alpha), no dropout.
    The model a BG/NBD reduces to when its dropout collapses; it makes no claim about
    P(alive) (``probability_alive`` is NaN)."""

    params: dict[str, float] = field(default_factory=dict)
    log_likelihood: float = float("nan")
    n_customers: int = 0

    @staticmethod
    def log_likelihood_terms(params: np.ndarray, x: np.ndarray, t_obs: np.ndarray
                             ) -> np.ndarray:
        r, alpha = params
        return (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
                - (r + x) * np.log(alpha + t_obs))

    def fit(self, summary: pd.DataFrame) -> NBDModel:
        x, _tx, t_obs = _arrays(summary)
        if len(x) < 10 or (x > 0).sum() < 2:
            raise InsufficientDataError("NBD needs at least 10 customers, 2 with repeats")
        scale = float(np.max(t_obs)) or 1.0
        p, _, _ = _minimize(
            lambda lp: -float(self.log_likelihood_terms(np.exp(lp), x, t_obs / scale).sum()),
            np.log([0.5, 1.0]))
        r, alpha = float(p[0]), float(p[1] * scale)
        self.params = {"r": r, "alpha": alpha}
        self.log_likelihood = float(
            self.log_likelihood_terms(np.array([r, alpha]), x, t_obs).sum())
        self.n_customers = len(x)
        return self

    def conditional_expected_purchases(
        self, t: float, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        if not self.params:
            raise NotFittedError("NBD model is not fitted")
        r, alpha = self.params["r"], self.params["alpha"]
        x, big_t = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        return (r + x) / (alpha + big_t) * t

    def probability_alive(
        self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        return np.full(np.shape(np.asarray(frequency)), np.nan)

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "log_likelihood": self.log_likelihood,
                "n_customers": self.n_customers}


@dataclass
class GammaGammaModel:
    """Gamma-Gamma spend model: mean spend per transaction varies across customers,
    fitted on customers with at least one repeat purchase and positive mean spend."""

    params: dict[str, float] = field(default_factory=dict)
    log_likelihood: float = float("nan")
    n_customers: int = 0

    def fit(self, summary: pd.DataFrame) -> GammaGammaModel:
        use = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
        if len(use) < 10:
            raise InsufficientDataError("Gamma-Gamma needs at least 10 repeat customers")
        x = use["frequency"].to_numpy(dtype=float)
        m = use["monetary"].to_numpy(dtype=float)
        scale = float(np.mean(m))

        def terms(p: np.ndarray, mm: np.ndarray) -> np.ndarray:
            pp, q, v = p
            px = pp * x
            return (
                gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
                + (px - 1) * np.log(mm) + px * np.log(x) - (px + q) * np.log(x * mm + v)
            )

        p, _, _ = _minimize(lambda lp: -float(terms(np.exp(lp), m / scale).sum()),
                            np.log([1.0, 1.0, 1.0]))
        p[2] *= scale
        self.params = {"p": float(p[0]), "q": float(p[1]), "v": float(p[2])}
        self.log_likelihood = float(terms(p, m).sum())
        self.n_customers = len(use)
        return self

    def expected_average_spend(self, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
        """E[M | x, m_x]; customers without repeats get the population mean p*v/(q-1)."""
        if not self.params:
            raise NotFittedError("Gamma-Gamma model is not fitted")
        p, q, v = self.params["p"], self.params["q"], self.params["v"]
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary, dtype=float)
        return (p * (v + x * m)) / (p * x + q - 1)

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "log_likelihood": self.log_likelihood,
                "n_customers": self.n_customers}
