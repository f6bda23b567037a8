from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actors.analytics.datasets import read_hillstrom
from actors.analytics.errors import AnalyticsError, InsufficientDataError
from actors.analytics.qini import qini_coefficient, qini_curve
from actors.analytics.uplift import (
    ClassTransformation,
    TLearner,
    hillstrom_experiment,
    select_uplift_model,
    targeting_list,
)
from tests.support import shared_data


def synthetic(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    t = rng.integers(0, 2, n)
    base = 0.2 + 0.0 * x["a"]
    lift = np.where(x["a"] > 0, 0.25, 0.0)  # only a > 0 responds
    y = (rng.random(n) < base + t * lift).astype(int)
    return x, t, y


def test_qini_perfect_and_random() -> None:
    x, t, y = synthetic()
    truth = (x["a"] > 0).to_numpy(dtype=float)
    assert qini_coefficient(y, t, truth) > 0.008  # ideal ~0.0156
    rand = [qini_coefficient(y, t, np.random.default_rng(i).random(len(y))) for i in range(5)]
    assert abs(np.mean(rand)) < 0.004
    frac, q = qini_curve(y, t, truth)
    assert frac[0] == 0 and frac[-1] == 1 and q[0] == 0


def test_models_find_the_responsive_half() -> None:
    x, t, y = synthetic()
    for model in (TLearner("logistic"), ClassTransformation("logistic")):
        u = model.fit(x, t, y).predict_uplift(x)
        assert u[x["a"] > 1].mean() > u[x["a"] < -1].mean() + 0.1, model.name
    sel = select_uplift_model(x, t, y, [TLearner("logistic"), ClassTransformation("logistic")],
                              folds=3)
    assert set(sel.cv_qini) == {"t_learner_logistic", "class_transformation_logistic"}
    assert sel.cv_qini[sel.best.name] == max(sel.cv_qini.values())


def test_targeting_list_respects_budget() -> None:
    x, t, y = synthetic()
    model = TLearner("logistic").fit(x, t, y)
    customers = pd.DataFrame({"customer_id": [f"u{i}" for i in range(len(x))]})
    out = targeting_list(model, customers, x, budget=100.0, cost_per_contact=0.7)
    assert len(out) == 142 and out["cumulative_cost"].iloc[-1] <= 100.0
    assert out["uplift"].is_monotonic_decreasing and (out["uplift"] > 0).all()
    costly = targeting_list(model, customers, x, budget=1e6, cost_per_contact=1.0,
                            value_per_outcome=2.0)
    assert (costly["uplift"] * 2.0 > 1.0).all()
    with pytest.raises(AnalyticsError):
        targeting_list(model, customers, x, budget=10, cost_per_contact=0)


def test_degenerate_experiment_rejected() -> None:
    x, t, _ = synthetic(200)
    with pytest.raises(InsufficientDataError):
        TLearner().fit(x, t, np.zeros(len(t), dtype=int))


def test_hillstrom_layout() -> None:
    frame = read_hillstrom(shared_data("marketing", "uplift", "hillstrom.csv"))
    x, t, y = hillstrom_experiment(frame, "Mens E-Mail", "visit")
    assert len(x) == 15933 + 15967 and t.sum() == 15933
    # the e-mail raised visits (published: 18.3 % vs 10.6 % on the full file)
    assert y[t == 1].mean() - y[t == 0].mean() > 0.05
    with pytest.raises(AnalyticsError):
        hillstrom_experiment(frame, "Kids E-Mail", "visit")
