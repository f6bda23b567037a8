from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actors.analytics.clv.models import BetaGeoModel, GammaGammaModel
from actors.analytics.clv.summary import calibration_summary, holdout_purchases
from actors.analytics.clv.value import CLVModel
from actors.analytics.errors import UnknownCustomerError


def test_bgnbd_and_gamma_gamma_recover_published_cdnow(cdnow_sample: pd.DataFrame) -> None:
    summary = calibration_summary(cdnow_sample, "1997-09-30")
    assert len(summary) == 2357 and summary["frequency"].sum() == 2457
    bg = BetaGeoModel().fit(summary)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for k, v in published.items():
        assert bg.params[k] == pytest.approx(v, abs=0.01), k
    assert bg.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    gg = GammaGammaModel().fit(summary)
    assert gg.n_customers == 946
    for k, v in {"p": 6.25, "q": 3.74, "v": 15.45}.items():
        assert gg.params[k] == pytest.approx(v, abs=0.05), k


def test_holdout_forecast_within_ten_percent(cdnow_sample: pd.DataFrame) -> None:
    # The public file ends at 1997-09-30: calibrate on 26 weeks, score the next 13.
    cal = calibration_summary(cdnow_sample, "1997-06-30")
    bg = BetaGeoModel().fit(cal)
    actual = holdout_purchases(cdnow_sample, "1997-06-30", "1997-09-30", cal.index)
    pred = bg.conditional_expected_purchases(92 / 7, cal["frequency"], cal["recency"], cal["T"])
    assert abs(pred.sum() / actual.sum() - 1) < 0.10


def test_clv_per_customer_and_unknown_ids(cdnow_sample: pd.DataFrame) -> None:
    model = CLVModel().fit(cdnow_sample, "1997-09-30")
    table = model.predict(["4", "111"], horizon=52)
    assert list(table.index) == ["4", "111"]
    assert (table["clv"] > 0).all() and table["p_alive"].between(0, 1).all()
    # More horizon never lowers CLV; discounting lowers it.
    longer = model.predict(["4"], horizon=104)["clv"].iloc[0]
    assert longer > table.loc["4", "clv"]
    assert model.predict(["4"], discount_rate=0.5)["clv"].iloc[0] < table.loc["4", "clv"]
    with pytest.raises(UnknownCustomerError, match="nope"):
        model.predict(["4", "nope"])
    # E[X(t)] for a new customer grows with t
    grow = model.bgnbd.expected_purchases_new(np.array([1.0, 10.0, 52.0]))
    assert np.all(np.diff(grow) > 0)
