"""Customer lifetime value from a fitted BG/NBD + Gamma-Gamma pair.

A BG/NBD fit whose parameters are degenerate (:func:`degenerate_bgnbd`: the dropout
process collapsed, P(alive) ~ 1 for everyone) is not used silently: the model falls back
to the NBD (no dropout, no P(alive) claim) and keeps the reasons in ``warnings``, which
the API and the report show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from actors.analytics.clv.models import BetaGeoModel, GammaGammaModel, NBDModel, degenerate_bgnbd
from actors.analytics.clv.summary import calibration_summary
from actors.analytics.errors import AnalyticsError, UnknownCustomerError


@dataclass
class CLVModel:
    """BG/NBD + Gamma-Gamma fitted on one calibration period, keeping the per-customer
    summary so it can answer for any known customer id."""

    calibration_end: str = ""
    time_unit_days: float = 7.0
    bgnbd: BetaGeoModel = field(default_factory=BetaGeoModel)
    gamma_gamma: GammaGammaModel = field(default_factory=GammaGammaModel)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)
    fallback: NBDModel | None = None

    @property
    def counting_model(self) -> BetaGeoModel | NBDModel:
        """The purchase-count model the answers use: the NBD when BG/NBD degenerated."""
        fallback = getattr(self, "fallback", None)  # artifacts saved before it existed
        return self.bgnbd if fallback is None else fallback

    @property
    def counting_model_name(self) -> str:
        return "bgnbd" if getattr(self, "fallback", None) is None else "nbd"

    def fit(
        self, transactions: pd.DataFrame, calibration_end: datetime | pd.Timestamp | str
    ) -> CLVModel:
        self.calibration_end = str(pd.Timestamp(calibration_end).date())
        self.summary = calibration_summary(transactions, calibration_end, self.time_unit_days)
        self.bgnbd = BetaGeoModel().fit(self.summary)
        self.warnings = degenerate_bgnbd(self.bgnbd.params, float(self.summary["T"].max()))
        self.fallback = None
        if self.warnings:
            self.fallback = NBDModel().fit(self.summary)
            self.warnings.append("degenerate BG/NBD fit: expected purchases come from the "
                                 "NBD model (no dropout) and P(alive) is not estimated")
        self.gamma_gamma = GammaGammaModel().fit(self.summary)
        return self

    def predict(
        self,
        customer_ids: Sequence[str] | None = None,
        horizon: float = 52.0,
        discount_rate: float = 0.10,
        margin: float = 1.0,
    ) -> pd.DataFrame:
        """Per customer: p_alive, expected purchases and CLV over `horizon` time units
        (weeks by default), discounted at `discount_rate` per year, times `margin`."""
        if horizon <= 0 or not 0 <= discount_rate < 10 or not 0 < margin <= 1:
            raise AnalyticsError("need horizon > 0, 0 <= discount_rate < 10, 0 < margin <= 1")
        summary = self.summary
        if customer_ids is not None:
            ids = [str(c) for c in customer_ids]
            unknown = [c for c in ids if c not in summary.index]
            if unknown:
                raise UnknownCustomerError(unknown)
            summary = summary.loc[ids]
        return clv_table(self.counting_model, self.gamma_gamma, summary, horizon, discount_rate,
                         margin, self.time_unit_days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calibration_end": self.calibration_end,
            "time_unit_days": self.time_unit_days,
            "bgnbd": self.bgnbd.to_dict(),
            "counting_model": self.counting_model_name,
            "nbd": (None if getattr(self, "fallback", None) is None
                    else self.counting_model.to_dict()),
            "warnings": list(getattr(self, "warnings", [])),
            "gamma_gamma": self.gamma_gamma.to_dict(),
            "customers": len(self.summary),
        }


def clv_table(
    bgnbd: BetaGeoModel | NBDModel,
    gamma_gamma: GammaGammaModel,
    summary: pd.DataFrame,
    horizon: float = 52.0,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    x = summary["frequency"].to_numpy(dtype=float)
    tx = summary["recency"].to_numpy(dtype=float)
    big_t = summary["T"].to_numpy(dtype=float)
    spend = gamma_gamma.expected_average_spend(x, summary["monetary"].to_numpy(dtype=float))
    steps = np.arange(1, int(np.ceil(horizon)) + 1, dtype=float)
    steps[-1] = horizon
    per_unit = (1 + discount_rate) ** (time_unit_days / 365.0)
    cumulative = np.vstack(
        [bgnbd.conditional_expected_purchases(float(s), x, tx, big_t) for s in steps]
    )
    increments = np.diff(np.vstack([np.zeros_like(x), cumulative]), axis=0)
    discounts = per_unit ** -steps
    clv = margin * spend * (increments * discounts[:, None]).sum(axis=0)
    out = pd.DataFrame(
        {
            "frequency": x,
            "recency": tx,
            "T": big_t,
            "monetary": summary["monetary"].to_numpy(dtype=float),
            "p_alive": bgnbd.probability_alive(x, tx, big_t),
            "expected_purchases": cumulative[-1],
            "expected_spend": spend,
            "clv": clv,
        },
        index=summary.index,
    )
    out.index.name = "customer_id"
    return out
