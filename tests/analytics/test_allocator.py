from __future__ import annotations

import math

import numpy as np
import pytest

from actors.analytics.allocator import allocate_budget, random_feasible
from actors.analytics.datasets import read_robyn_weekly
from actors.analytics.errors import InfeasibleBudgetError
from actors.analytics.mmm import ROBYN_CHANNELS, ChannelCurve, MediaMixModel, robyn_controls
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


def robyn_like() -> MediaMixModel:
    """A constructed media-mix model on the scale of Robyn's demo (weekly spends of
    5e3..1e5, a response of ~3e5 per week) with curves of different saturation: the raw
    objective the optimiser sees is large, its gradient in spend units tiny."""
    spend = {"tv_S": 82_603.0, "ooh_S": 111_880.0, "print_S": 4_824.0, "search_S": 29_314.0,
             "facebook_S": 6_911.0}
    shapes = {"tv_S": (0.6, 0.9, 1.2, 90_000.0), "ooh_S": (0.3, 2.5, 2.0, 40_000.0),
              "print_S": (0.2, 0.5, 1.0, 60_000.0), "search_S": (0.1, 0.6, 1.1, 120_000.0),
              "facebook_S": (0.2, 0.4, 0.9, 80_000.0)}
    curves = {c: ChannelCurve(theta, k, s, beta, spend[c] / (1 - theta))
              for c, (theta, k, s, beta) in shapes.items()}
    return MediaMixModel(channels=list(spend), curves=curves,
                         current_weekly_spend=dict(spend))


def random_search_best(model: MediaMixModel, bounds: dict[str, tuple[float, float]],
                       total: float, n: int, seed: int) -> float:
    channels = list(bounds)
    lo = np.array([bounds[c][0] for c in channels])
    hi = np.array([bounds[c][1] for c in channels])
    points = random_feasible(lo, hi, total, n, np.random.default_rng(seed))
    return max(model.weekly_response(dict(zip(channels, x, strict=True))) for x in points)


@pytest.mark.parametrize("source", ["constructed", "robyn"])
def test_plus_minus_50_percent_never_loses_to_random_search(source: str,
                                                            request: pytest.FixtureRequest
                                                            ) -> None:
    model = robyn_like() if source == "constructed" else request.getfixturevalue("mmm")
    current = model.current_weekly_spend
    total = sum(current.values())
    bounds = {c: (0.5 * v, 1.5 * v) for c, v in current.items()}
    res = allocate_budget(model, current, bounds=bounds)
    searched = random_search_best(model, bounds, total, 4000, seed=12345)  # not its seed
    assert res.predicted_response >= searched
    assert res.status == "optimized" and res.improvement > 0
    assert res.predicted_response > res.start_response * 1.01
    assert res.search_response is not None and res.optimizer_response is not None
    assert res.predicted_response == max(res.optimizer_response, res.search_response,
                                         res.start_response)
    assert math.isclose(sum(res.allocation.values()), total, rel_tol=1e-12)
    for c, v in res.allocation.items():
        assert bounds[c][0] <= v <= bounds[c][1]


def test_answer_does_not_depend_on_the_response_scale() -> None:
    """Scaling every response by 1e-3 or 1e3 must not change the allocation: the
    objective is normalised (raw, SLSQP stopped early at ~3e5 and kept the start)."""
    answers = []
    for factor in (1e-3, 1.0, 1e3):
        model = robyn_like()
        for curve in model.curves.values():
            curve.beta *= factor
        current = model.current_weekly_spend
        bounds = {c: (0.5 * v, 1.5 * v) for c, v in current.items()}
        answers.append(allocate_budget(model, current, bounds=bounds, search=0).allocation)
    for other in answers[1:]:
        for c, v in answers[0].items():
            assert other[c] == pytest.approx(v, rel=1e-3, abs=1.0)
