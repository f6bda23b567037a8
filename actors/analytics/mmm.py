"""Media response curves: geometric adstock + Hill saturation per channel, fitted on
weekly spend and sales by least squares (channel effects non-negative).

sales_t = b0 + sum_c beta_c * hill(adstock_c(spend_c)_t / scale_c) + sum_j g_j * z_jt
adstock(x)_t = x_t + theta * adstock(x)_{t-1};  hill(u) = u^s / (u^s + k^s)
`scale_c` is the mean adstocked spend of the channel, so k is in units of that mean."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize, nnls

from actors.analytics.errors import BadUploadError, InsufficientDataError, NotFittedError

ROBYN_CHANNELS = ("tv_S", "ooh_S", "print_S", "search_S", "facebook_S")
THETA_MAX, K_RANGE, S_RANGE = 0.85, (0.2, 4.0), (0.7, 3.0)


def geometric_adstock(x: np.ndarray, theta: float) -> np.ndarray:
    out = np.empty_like(x, dtype=float)
    carry = 0.0
    for i, v in enumerate(x):
        carry = v + theta * carry
        out[i] = carry
    return out


def hill(u: np.ndarray, k: float, s: float) -> np.ndarray:
    u = np.maximum(u, 0.0)
    return u**s / (u**s + k**s)


@dataclass
class ChannelCurve:
    theta: float
    k: float
    s: float
    beta: float
    scale: float

    def weekly_response(self, spend: float | np.ndarray) -> np.ndarray:
        """Steady-state weekly sales contribution of a constant weekly spend."""
        steady = np.asarray(spend, dtype=float) / (1 - self.theta) / self.scale
        return self.beta * hill(steady, self.k, self.s)


@dataclass
class MediaMixModel:
    channels: list[str] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)
    curves: dict[str, ChannelCurve] = field(default_factory=dict)
    intercept: float = 0.0
    control_coef: dict[str, float] = field(default_factory=dict)
    control_mean: dict[str, float] = field(default_factory=dict)
    control_std: dict[str, float] = field(default_factory=dict)
    r2: float = float("nan")
    mape: float = float("nan")
    current_weekly_spend: dict[str, float] = field(default_factory=dict)

    def _design(self, spend: np.ndarray, params: np.ndarray, scales: np.ndarray) -> np.ndarray:
        cols = []
        for i in range(spend.shape[1]):
            theta, k, s = params[3 * i: 3 * i + 3]
            cols.append(hill(geometric_adstock(spend[:, i], theta) / scales[i], k, s))
        return np.column_stack(cols)

    def fit(
        self,
        frame: pd.DataFrame,
        target: str,
        channels: Sequence[str],
        controls: Sequence[str] = (),
        seed: int = 0,
        starts: int = 4,
    ) -> MediaMixModel:
        missing = [c for c in (target, *channels, *controls) if c not in frame.columns]
        if missing:
            raise BadUploadError(f"media data lacks columns {missing}")
        if len(frame) < 20 + 3 * len(channels):
            raise InsufficientDataError(
                f"{len(frame)} weeks is too few for {len(channels)} channels"
            )
        y = frame[target].to_numpy(dtype=float)
        spend = frame[list(channels)].to_numpy(dtype=float)
        if (spend < 0).any() or not np.isfinite(spend).all() or not np.isfinite(y).all():
            raise BadUploadError("spend must be finite and non-negative; target finite")
        z_raw = frame[list(controls)].to_numpy(dtype=float) if controls else np.zeros((len(y), 0))
        mu, sd = z_raw.mean(axis=0), z_raw.std(axis=0)
        sd[sd == 0] = 1.0
        z = (z_raw - mu) / sd
        scales = np.array([max(geometric_adstock(spend[:, i], 0.5).mean(), 1e-9)
                           for i in range(spend.shape[1])])
        y_scale = float(np.abs(y).mean()) or 1.0
        yn = y / y_scale
        # Linear part: [1, z, -z] free via +/- split; channel betas >= 0 via NNLS.
        lin = np.column_stack([np.ones(len(y)), z, -z, -np.ones(len(y))])

        def solve(params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            design = np.column_stack([self._design(spend, params, scales), lin])
            coef, rnorm = nnls(design, yn, maxiter=2000)
            return rnorm**2, coef, design

        lo = np.tile([0.0, K_RANGE[0], S_RANGE[0]], len(channels))
        hi = np.tile([THETA_MAX, K_RANGE[1], S_RANGE[1]], len(channels))
        rng = np.random.default_rng(seed)
        best: Any = None
        for i in range(starts):
            x0 = np.tile([0.3, 1.0, 1.5], len(channels)) if i == 0 else rng.uniform(lo, hi)
            res = minimize(lambda p: solve(p)[0], x0, method="L-BFGS-B",
                           bounds=list(zip(lo, hi, strict=True)))
            if best is None or res.fun < best.fun:
                best = res
        _sse, coef, design = solve(best.x)
        nc, nz = len(channels), z.shape[1]
        betas = coef[:nc] * y_scale
        self.channels, self.controls = list(channels), list(controls)
        self.curves = {
            ch: ChannelCurve(float(best.x[3 * i]), float(best.x[3 * i + 1]),
                             float(best.x[3 * i + 2]), float(betas[i]), float(scales[i]))
            for i, ch in enumerate(channels)
        }
        self.intercept = float((coef[nc] - coef[-1]) * y_scale)
        gam = (coef[nc + 1: nc + 1 + nz] - coef[nc + 1 + nz: nc + 1 + 2 * nz]) * y_scale
        self.control_coef = {c: float(g) for c, g in zip(controls, gam, strict=True)}
        self.control_mean = {c: float(m) for c, m in zip(controls, mu, strict=True)}
        self.control_std = {c: float(s) for c, s in zip(controls, sd, strict=True)}
        fitted = design @ coef * y_scale
        self.r2 = float(1 - ((y - fitted) ** 2).sum() / ((y - y.mean()) ** 2).sum())
        self.mape = float(np.mean(np.abs(y - fitted) / np.maximum(np.abs(y), 1e-9)))
        recent = spend[-min(13, len(spend)):].mean(axis=0)
        self.current_weekly_spend = {ch: float(v) for ch, v in zip(channels, recent, strict=True)}
        return self

    def weekly_response(self, allocation: Mapping[str, float]) -> float:
        """Total steady-state weekly media contribution of a weekly allocation."""
        if not self.curves:
            raise NotFittedError("media mix model is not fitted")
        return float(sum(self.curves[c].weekly_response(v) for c, v in allocation.items()))

    def response_curves(self, points: int = 50, max_multiple: float = 3.0) -> pd.DataFrame:
        """Long table channel, spend, response for plotting (0..max_multiple x current)."""
        rows = []
        for ch, curve in self.curves.items():
            top = max(self.current_weekly_spend.get(ch, 0.0), curve.scale) * max_multiple
            for s in np.linspace(0, top, points):
                rows.append((ch, float(s), float(curve.weekly_response(s))))
        return pd.DataFrame(rows, columns=["channel", "spend", "response"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "channels": self.channels,
            "controls": self.controls,
            "curves": {c: vars(v) for c, v in self.curves.items()},
            "intercept": self.intercept,
            "control_coef": self.control_coef,
            "r2": self.r2,
            "mape": self.mape,
            "current_weekly_spend": self.current_weekly_spend,
        }


def robyn_controls(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds event dummies to the Robyn demo frame; returns a copy."""
    out = frame.copy()
    events = out["events"].fillna("").astype(str)
    out["event1"] = (events == "event1").astype(float)
    out["event2"] = (events == "event2").astype(float)
    return out
