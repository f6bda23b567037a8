from __future__ import annotations

import math

import numpy as np
import pytest

from actors.analytics.allocator import allocate_budget
from actors.analytics.datasets import read_robyn_weekly
from actors.analytics.errors import InfeasibleBudgetError
from actors.analytics.mmm import ROBYN_CHANNELS, MediaMixModel, robyn_controls
from tests.support import shared_data


@pytest.fixture(scope="module")
def mmm() -> MediaMixModel:
    frame = robyn_controls(read_robyn_weekly(
        shared_data("marketing", "mmm", "robyn_dt_simulated_weekly.csv")))
    return MediaMixModel().fit(frame, "revenue", ROBYN_CHANNELS,
                               ["competitor_sales_B", "newsletter", "event1", "event2"],
                               starts=2)


def test_fit_explains_sales(mmm: MediaMixModel) -> None:
    assert mmm.r2 > 0.8
    for curve in mmm.curves.values():
        assert 0 <= curve.theta <= 0.85 and curve.beta >= 0
        r = curve.weekly_response(np.array([0.0, 1e3, 1e4, 1e5, 1e6]))
        assert r[0] == 0 and np.all(np.diff(r) >= 0)


@pytest.mark.parametrize("scale", [1.0, 0.5, 1.7])
def test_sum_exact_bounds_and_never_worse(mmm: MediaMixModel, scale: float) -> None:
    current = mmm.current_weekly_spend
    total = sum(current.values()) * scale
    bounds = {c: (0.3 * v, 2.0 * v) for c, v in current.items()}
    if scale != 1.0:
        bounds = {c: (0.0, total) for c in current}
    res = allocate_budget(mmm, current, total=total, bounds=bounds)
    assert math.isclose(sum(res.allocation.values()), total, rel_tol=1e-12)
    for c, v in res.allocation.items():
        assert bounds[c][0] <= v <= bounds[c][1]
    assert res.predicted_response >= res.start_response
    assert res.start_feasible == (scale == 1.0)
    if res.start_feasible:
        assert res.start_response == pytest.approx(mmm.weekly_response(current))


def test_already_optimal_start_is_kept(mmm: MediaMixModel) -> None:
    first = allocate_budget(mmm, mmm.current_weekly_spend)
    again = allocate_budget(mmm, first.allocation)
    assert again.predicted_response >= first.predicted_response - 1e-9
    pinned = {c: (v, v) for c, v in mmm.current_weekly_spend.items()}
    fixed = allocate_budget(mmm, mmm.current_weekly_spend, bounds=pinned)
    assert fixed.allocation == pytest.approx(mmm.current_weekly_spend)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"total": 10.0, "bounds": {"tv_S": (20.0, 30.0)}}, "cannot meet total"),
        ({"bounds": {c: (0.0, 1.0) for c in ROBYN_CHANNELS}}, "cannot meet total"),
        ({"bounds": {"tv_S": (5.0, 1.0)}}, "min <= max"),
        ({"bounds": {"radio": (0.0, 1.0)}}, "not in the allocation"),
        ({"total": -1.0}, ">= 0"),
    ],
)
def test_infeasible_inputs_raise(mmm: MediaMixModel, kwargs: dict, match: str) -> None:
    with pytest.raises(InfeasibleBudgetError, match=match):
        allocate_budget(mmm, mmm.current_weekly_spend, **kwargs)
    with pytest.raises(InfeasibleBudgetError, match="unknown"):
        allocate_budget(mmm, {"radio": 1.0})
