"""Degenerate BG/NBD fits are detected and not used silently: a constructed population
without any dropout drives the fit's dropout to a bound (a -> 0), which is reported, and
the CLV model falls back to the NBD (no P(alive) claim); a population with dropout, and
the CDNOW sample (real), are left alone; UCI Online Retail (real) is detected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actors.analytics.clv.models import BetaGeoModel, NBDModel, degenerate_bgnbd
from actors.analytics.clv.summary import calibration_summary
from actors.analytics.clv.value import CLVModel
from actors.analytics.datasets import cdnow_sample_ids, read_cdnow, read_online_retail
from tests.support import shared_data


def population(seed: int, dropout: tuple[float, float] | None, customers: int = 600,
               days: int = 280) -> pd.DataFrame:
    """Constructed purchases: Gamma(1, 0.5) weekly rates; after each purchase a customer
    leaves with a probability drawn per customer from Beta(*dropout) (None: nobody ever
    leaves)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(customers):
        rate = rng.gamma(1.0, 0.5) / 7
        leave = 0.0 if dropout is None else rng.beta(*dropout)
        day = float(rng.uniform(0, days / 3))
        while day < days:
            rows.append((str(i), pd.Timestamp("2020-01-01") + pd.Timedelta(days=day), 20.0
                         + 5 * rng.random()))
            if rng.random() < leave:
                break
            day += float(rng.exponential(1 / rate))
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])


END = pd.Timestamp("2020-01-01") + pd.Timedelta(days=280)


def test_no_dropout_population_is_detected_and_falls_back_to_nbd() -> None:
    model = CLVModel().fit(population(0, dropout=None), END)
    assert model.bgnbd.params["a"] < 1e-3  # the MLE ran to the bound
    assert model.counting_model_name == "nbd" and isinstance(model.fallback, NBDModel)
    assert any("dropout collapsed" in w for w in model.warnings)
    table = model.predict(horizon=26)
    assert table["p_alive"].isna().all()  # no claim instead of P(alive) = 1 for everyone
    assert (table["expected_purchases"] > 0).all() and (table["clv"] > 0).all()
    # the NBD is the limit the degenerate BG/NBD reached: same forecasts, to ~1e-3
    summ = model.summary
    bg = model.bgnbd.conditional_expected_purchases(26, summ["frequency"], summ["recency"],
                                                    summ["T"])
    assert np.allclose(table["expected_purchases"], bg, rtol=1e-3)
    assert model.to_dict()["counting_model"] == "nbd" and model.to_dict()["warnings"]


def test_population_with_dropout_keeps_bgnbd() -> None:
    model = CLVModel().fit(population(1, dropout=(1.0, 3.0)), END)
    assert model.warnings == [] and model.counting_model_name == "bgnbd"
    p = model.bgnbd.params
    assert 0.05 < p["a"] / (p["a"] + p["b"]) < 0.8
    alive = model.predict(horizon=26)["p_alive"]
    assert alive.between(0, 1).all() and alive.min() < 0.5


@pytest.mark.parametrize(("params", "fragment"), [
    ({"r": 0.76, "alpha": 9.77, "a": 2.35e-7, "b": 9416.5}, "dropout collapsed"),
    ({"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 50000.0}, "dropout collapsed"),
    ({"r": 5e-5, "alpha": 5.0, "a": 0.8, "b": 2.4}, "r=5e-05"),
    ({"r": 0.5, "alpha": 1e9, "a": 0.8, "b": 2.4}, "alpha"),
])
def test_bounds(params: dict[str, float], fragment: str) -> None:
    assert any(fragment in w for w in degenerate_bgnbd(params, 39.0))


def test_sensible_parameters_are_not_degenerate() -> None:
    assert degenerate_bgnbd({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, 39) == []
    # one dropout probability for everyone (Beta -> point mass at 0.29): still usable
    assert degenerate_bgnbd({"r": 1.0, "alpha": 3.0, "a": 1.6e6, "b": 4.0e6}, 39) == []


def test_cdnow_sample_fit_is_kept() -> None:
    tx = read_cdnow(shared_data("marketing", "rfm_clv", "CDNOW_master.txt"))
    tx = tx[tx["customer_id"].isin(cdnow_sample_ids())]
    assert CLVModel().fit(tx, "1997-09-30").warnings == []


def test_online_retail_fit_is_detected() -> None:
    """The issue's case: on Online Retail (real) BG/NBD goes to a ~ 2e-7, b ~ 9e3."""
    tx = read_online_retail(shared_data("marketing", "rfm_clv",
                                        "online_retail_invoices.csv"))
    summ = calibration_summary(tx, "2011-09-30")
    fit = BetaGeoModel().fit(summ)
    reasons = degenerate_bgnbd(fit.params, float(summ["T"].max()))
    assert reasons and "dropout collapsed" in reasons[0]
    model = CLVModel().fit(tx, "2011-09-30")
    assert model.counting_model_name == "nbd"
    assert model.predict(["17850"])["p_alive"].isna().all()
