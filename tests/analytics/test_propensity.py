from __future__ import annotations

import pandas as pd
import pytest

from actors.analytics.clv.propensity import PropensityModel
from actors.analytics.errors import UnknownCustomerError


def test_time_based_validation_beats_chance(cdnow_sample: pd.DataFrame) -> None:
    model = PropensityModel(horizon_days=60).fit(cdnow_sample)
    m = model.metrics
    assert m["train_cutoff_ordinal"] + 60 == m["test_cutoff_ordinal"]
    assert m["test_roc_auc"] > 0.65
    probs = model.predict(cdnow_sample, "1997-10-01", ["4", "111"])
    assert probs.between(0, 1).all()
    with pytest.raises(UnknownCustomerError):
        model.predict(cdnow_sample, "1997-10-01", ["missing"])
