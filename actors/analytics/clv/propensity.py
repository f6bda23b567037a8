"""Purchase propensity ("will this customer buy in the next N days"), the complement of
churn, as a scikit-learn classifier with time-based validation: fit on the window ending
one horizon before the last labelled cutoff, score on that later window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score

from actors.analytics.errors import InsufficientDataError, NotFittedError, UnknownCustomerError

FEATURES = [
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "avg_amount",
    "days_30",
    "days_90",
    "gap_mean",
]


def propensity_features(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Features per customer from purchase days strictly before `cutoff`."""
    tx = transactions[transactions["timestamp"] < cutoff]
    if tx.empty:
        raise InsufficientDataError(f"no transactions before {cutoff:%Y-%m-%d}")
    day = tx["timestamp"].dt.normalize()
    daily = tx.assign(day=day).groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    g = daily.groupby("customer_id")
    first, last, n = g["day"].min(), g["day"].max(), g.size()
    age = (cutoff.normalize() - daily["day"]).dt.days
    out = pd.DataFrame(
        {
            "recency_days": (cutoff.normalize() - last).dt.days,
            "frequency": n,
            "monetary": g["amount"].sum(),
            "tenure_days": (cutoff.normalize() - first).dt.days,
        }
    )
    out["avg_amount"] = out["monetary"] / out["frequency"]
    out["days_30"] = daily[age <= 30].groupby("customer_id").size().reindex(out.index).fillna(0)
    out["days_90"] = daily[age <= 90].groupby("customer_id").size().reindex(out.index).fillna(0)
    span = (last - first).dt.days
    out["gap_mean"] = np.where(n > 1, span / np.maximum(n - 1, 1), -1.0)
    out.index = out.index.astype(str)
    return out[FEATURES].astype(float)


def _labels(transactions: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int,
            customers: pd.Index) -> np.ndarray:
    end = cutoff + pd.Timedelta(days=horizon_days)
    mask = (transactions["timestamp"] >= cutoff) & (transactions["timestamp"] < end)
    buyers = set(transactions.loc[mask, "customer_id"].astype(str))
    return np.array([c in buyers for c in customers], dtype=int)


@dataclass
class PropensityModel:
    horizon_days: int = 90
    seed: int = 0
    model: HistGradientBoostingClassifier | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    def fit(
        self, transactions: pd.DataFrame, last_cutoff: datetime | pd.Timestamp | None = None
    ) -> PropensityModel:
        """Validate (train at cutoff - horizon, test at cutoff), then refit at cutoff.
        `last_cutoff` defaults to the last transaction day minus the horizon."""
        h = pd.Timedelta(days=self.horizon_days)
        data_end = transactions["timestamp"].max().normalize() + pd.Timedelta(days=1)
        cutoff = pd.Timestamp(last_cutoff) if last_cutoff is not None else data_end - h
        train_cut = cutoff - h
        x_tr = propensity_features(transactions, train_cut)
        y_tr = _labels(transactions, train_cut, self.horizon_days, x_tr.index)
        x_te = propensity_features(transactions, cutoff)
        y_te = _labels(transactions, cutoff, self.horizon_days, x_te.index)
        if len(set(y_tr)) < 2 or len(set(y_te)) < 2:
            raise InsufficientDataError("both windows need buyers and non-buyers")
        clf = self._new().fit(x_tr, y_tr)
        prob = clf.predict_proba(x_te)[:, 1]
        self.metrics = {
            "train_cutoff_ordinal": float(train_cut.toordinal()),
            "test_cutoff_ordinal": float(cutoff.toordinal()),
            "test_customers": float(len(y_te)),
            "test_base_rate": float(y_te.mean()),
            "test_roc_auc": float(roc_auc_score(y_te, prob)),
            "test_average_precision": float(average_precision_score(y_te, prob)),
            "baseline_recency_roc_auc": float(roc_auc_score(y_te, -x_te["recency_days"])),
        }
        x_all = pd.concat([x_tr, x_te])
        y_all = np.concatenate([y_tr, y_te])
        self.model = self._new().fit(x_all, y_all)
        return self

    def _new(self) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=self.seed
        )

    def predict(
        self,
        transactions: pd.DataFrame,
        as_of: datetime | pd.Timestamp,
        customer_ids: Sequence[str] | None = None,
    ) -> pd.Series:
        """P(purchase within horizon after `as_of`) per customer."""
        if self.model is None:
            raise NotFittedError("propensity model is not fitted")
        feats = propensity_features(transactions, pd.Timestamp(as_of))
        if customer_ids is not None:
            ids = [str(c) for c in customer_ids]
            unknown = [c for c in ids if c not in feats.index]
            if unknown:
                raise UnknownCustomerError(unknown)
            feats = feats.loc[ids]
        return pd.Series(self.model.predict_proba(feats)[:, 1], index=feats.index,
                         name="purchase_probability")

    def to_dict(self) -> dict[str, Any]:
        return {"horizon_days": self.horizon_days, "seed": self.seed, "metrics": self.metrics}
