"""Media budget allocation over fitted response curves.

Guarantees (tested): the allocation sums to `total` (to floating-point rounding of one
addition), every channel lies within its bounds exactly, and the predicted response is
never below the starting allocation's. The start is the current allocation when it is
feasible (sums to `total`, within bounds); otherwise its closest feasible point found by
clipping and rebalancing, and `AllocationResult.start_feasible` says so."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from actors.analytics.errors import InfeasibleBudgetError
from actors.analytics.mmm import MediaMixModel


@dataclass
class AllocationResult:
    allocation: dict[str, float]
    current: dict[str, float]
    start: dict[str, float]
    predicted_response: float
    start_response: float
    start_feasible: bool
    status: str  # "optimized" or "kept_start"

    @property
    def improvement(self) -> float:
        return self.predicted_response - self.start_response


def _rebalance(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """Clip to bounds, then spread the residual over channels with room, exactly."""
    x = np.clip(x, lo, hi)
    for _ in range(100):
        resid = total - x.sum()
        if abs(resid) <= 1e-12 * max(1.0, abs(total)):
            break
        room = (hi - x) if resid > 0 else (x - lo)
        free = room > 1e-15
        if not free.any():
            break
        share = room[free] / room[free].sum()
        x[free] = np.clip(x[free] + np.sign(resid) * np.minimum(abs(resid) * share, room[free]),
                          lo[free], hi[free])
    # Put the last rounding residual on the channel with the most room.
    resid = total - x.sum()
    room = (hi - x) if resid > 0 else (x - lo)
    i = int(np.argmax(room))
    x[i] = min(max(x[i] + resid, lo[i]), hi[i])
    return x


def allocate_budget(
    model: MediaMixModel,
    current: Mapping[str, float],
    total: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> AllocationResult:
    """Maximise the weekly media response over `current`'s channels.

    `total` defaults to the sum of `current`; `bounds` maps channel -> (min, max) and
    defaults to (0, total). Raises `InfeasibleBudgetError` for unknown channels, negative
    numbers, min > max, or bounds that cannot meet the total."""
    channels = list(current)
    unknown = [c for c in channels if c not in model.curves]
    if unknown or not channels:
        raise InfeasibleBudgetError(f"unknown or no channels {unknown}; known: {model.channels}")
    cur = np.array([float(current[c]) for c in channels])
    total = float(cur.sum() if total is None else total)
    if not np.isfinite(cur).all() or (cur < 0).any() or not np.isfinite(total) or total < 0:
        raise InfeasibleBudgetError("allocations and total must be finite and >= 0")
    bounds = dict(bounds or {})
    extra = set(bounds) - set(channels)
    if extra:
        raise InfeasibleBudgetError(f"bounds for channels not in the allocation: {sorted(extra)}")
    lo = np.array([float(bounds.get(c, (0.0, total))[0]) for c in channels])
    hi = np.array([float(bounds.get(c, (0.0, total))[1]) for c in channels])
    bad = [c for c, a, b in zip(channels, lo, hi, strict=True) if a < 0 or a > b]
    if bad:
        raise InfeasibleBudgetError(f"bounds need 0 <= min <= max; violated for {bad}")
    if lo.sum() > total * (1 + 1e-12) or hi.sum() < total * (1 - 1e-12):
        raise InfeasibleBudgetError(
            f"bounds cannot meet total {total:g}: sum of minimums {lo.sum():g}, "
            f"sum of maximums {hi.sum():g}"
        )

    def response(x: np.ndarray) -> float:
        return model.weekly_response(dict(zip(channels, x, strict=True)))

    feasible = bool(np.all(cur >= lo) and np.all(cur <= hi)
                    and abs(cur.sum() - total) <= 1e-9 * max(1.0, total))
    start = cur.copy() if feasible else _rebalance(cur.copy(), lo, hi, total)
    best, best_val = start, response(start)
    scale = max(total, 1e-9)
    if total > 0 and len(channels) > 1:
        res = minimize(
            lambda f: -response(f * scale),
            start / scale,
            method="SLSQP",
            bounds=list(zip(lo / scale, hi / scale, strict=True)),
            constraints=[{"type": "eq", "fun": lambda f: f.sum() - total / scale}],
            options={"maxiter": 500, "ftol": 1e-12},
        )
        cand = _rebalance(np.asarray(res.x) * scale, lo, hi, total)
        val = response(cand)
        if val > best_val:
            best, best_val = cand, val
    start_val = response(start)
    return AllocationResult(
        allocation=dict(zip(channels, map(float, best), strict=True)),
        current=dict(zip(channels, map(float, cur), strict=True)),
        start=dict(zip(channels, map(float, start), strict=True)),
        predicted_response=float(best_val),
        start_response=float(start_val),
        start_feasible=feasible,
        status="optimized" if best is not start else "kept_start",
    )
