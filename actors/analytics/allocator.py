"""Media budget allocation over fitted response curves.

Guarantees (tested): the allocation sums to `total` (to floating-point rounding of one
addition), every channel lies within its bounds exactly, and the predicted response is
never below the starting allocation's. The start is the current allocation when it is
feasible (sums to `total`, within bounds); otherwise its closest feasible point found by
clipping and rebalancing, and `AllocationResult.start_feasible` says so.

The optimiser works on a scaled problem (spend as shares of the total, response relative
to the start's), from several starts (the start, the equal split, the middle of the
bounds and seeded random feasible points), and a seeded random feasible search runs
beside it: the answer is the best point any of them found, so the allocator never
returns less than its own random search (`method` says which found it)."""

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
    method: str = "start"  # which found the answer: "slsqp", "random_search" or "start"
    optimizer_response: float | None = None  # best of the SLSQP starts (None: none ran)
    search_response: float | None = None  # best of the random feasible search
    starts: int = 0

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


def random_feasible(lo: np.ndarray, hi: np.ndarray, total: float, n: int,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` random allocations within [lo, hi] summing to ``total`` (uniform in the box,
    then clipped and rebalanced onto the budget)."""
    return [_rebalance(lo + rng.random(len(lo)) * (hi - lo), lo, hi, total) for _ in range(n)]


N_STARTS, N_SEARCH, SEED = 4, 512, 0
"""Defaults fixed before any evaluation: 4 random SLSQP starts besides the 3 fixed ones,
512 random feasible points."""


def allocate_budget(
    model: MediaMixModel,
    current: Mapping[str, float],
    total: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    starts: int = N_STARTS,
    search: int = N_SEARCH,
    seed: int = SEED,
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
    start_val = response(start)
    best, best_val, method = start, start_val, "start"
    opt_val = search_val = float("nan")
    n_starts = 0
    if total > 0 and len(channels) > 1 and float((hi - lo).max()) > 0:
        rng = np.random.default_rng(seed)
        scale = total  # spend as shares of the total
        y_scale = max(abs(start_val), abs(response(hi)), 1e-12)  # response ~ 1

        def objective(f: np.ndarray) -> float:
            return -response(f * scale) / y_scale

        firsts = [start, _rebalance(np.full(len(lo), total / len(lo)), lo, hi, total),
                  _rebalance((lo + hi) / 2, lo, hi, total),
                  *random_feasible(lo, hi, total, starts, rng)]
        n_starts = len(firsts)
        for x0 in firsts:
            res = minimize(
                objective, x0 / scale, method="SLSQP",
                bounds=list(zip(lo / scale, hi / scale, strict=True)),
                constraints=[{"type": "eq", "fun": lambda f: f.sum() - 1.0}],
                options={"maxiter": 1000, "ftol": 1e-12},
            )
            cand = _rebalance(np.asarray(res.x) * scale, lo, hi, total)
            val = response(cand)
            if not val <= opt_val:  # also the first (nan)
                opt_val = val
            if val > best_val:
                best, best_val, method = cand, val, "slsqp"
        for cand in random_feasible(lo, hi, total, search, rng):
            val = response(cand)
            if not val <= search_val:
                search_val = val
            if val > best_val:
                best, best_val, method = cand, val, "random_search"
    return AllocationResult(
        allocation=dict(zip(channels, map(float, best), strict=True)),
        current=dict(zip(channels, map(float, cur), strict=True)),
        start=dict(zip(channels, map(float, start), strict=True)),
        predicted_response=float(best_val),
        start_response=float(start_val),
        start_feasible=feasible,
        status="optimized" if best is not start else "kept_start",
        method=method,
        optimizer_response=None if np.isnan(opt_val) else float(opt_val),
        search_response=None if np.isnan(search_val) else float(search_val),
        starts=n_starts,
    )
