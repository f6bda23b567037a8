"""Uplift models for campaign targeting (T-learner and class transformation), chosen by
cross-validated Qini, and a budgeted targeting list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from actors.analytics.errors import AnalyticsError, BadUploadError, InsufficientDataError
from actors.analytics.qini import qini_coefficient

HILLSTROM_CONTROL = "No E-Mail"
HILLSTROM_TREATMENTS = ("Mens E-Mail", "Womens E-Mail")
HILLSTROM_OUTCOMES = ("visit", "conversion")


def hillstrom_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric features from the Hillstrom columns (fixed one-hot levels)."""
    need = {"recency", "history", "mens", "womens", "zip_code", "newbie", "channel"}
    missing = need - set(frame.columns)
    if missing:
        raise BadUploadError(f"experiment data lacks columns {sorted(missing)}")
    out = frame[["recency", "history", "mens", "womens", "newbie"]].astype(float).copy()
    out["history"] = np.log1p(out["history"])
    for level in ("Urban", "Surburban", "Rural"):
        out[f"zip_{level}"] = (frame["zip_code"] == level).astype(float)
    for level in ("Phone", "Web", "Multichannel"):
        out[f"channel_{level}"] = (frame["channel"] == level).astype(float)
    return out


def hillstrom_experiment(
    frame: pd.DataFrame, treatment: str, outcome: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(features, treatment 0/1, outcome 0/1) for `treatment` vs no e-mail."""
    if treatment not in HILLSTROM_TREATMENTS or outcome not in HILLSTROM_OUTCOMES:
        raise AnalyticsError(
            f"treatment must be one of {HILLSTROM_TREATMENTS}, outcome one of "
            f"{HILLSTROM_OUTCOMES}"
        )
    sub = frame[frame["segment"].isin([treatment, HILLSTROM_CONTROL])].reset_index(drop=True)
    t = (sub["segment"] == treatment).to_numpy(dtype=int)
    y = sub[outcome].to_numpy(dtype=int)
    return hillstrom_features(sub), t, y


class UpliftModel(Protocol):
    name: str

    def fit(self, x: pd.DataFrame, t: np.ndarray, y: np.ndarray) -> UpliftModel: ...

    def predict_uplift(self, x: pd.DataFrame) -> np.ndarray: ...


def base_learner(kind: str, seed: int) -> ClassifierMixin:
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))
    if kind == "gbm":
        return HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=100,
            random_state=seed,
        )
    raise AnalyticsError(f"unknown base learner {kind!r}")


def _check(t: np.ndarray, y: np.ndarray) -> None:
    for name, arr in (("treatment", t), ("outcome", y)):
        if not set(np.unique(arr)) <= {0, 1}:
            raise BadUploadError(f"{name} must be 0/1")
    for g in (0, 1):
        ys = y[t == g]
        if len(ys) < 20 or ys.min() == ys.max():
            raise InsufficientDataError("each group needs >= 20 rows with both outcomes")


@dataclass
class TLearner:
    """Two outcome models, treated and control; uplift = p_treated - p_control."""

    base: str = "logistic"
    seed: int = 0
    models: list[Any] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"t_learner_{self.base}"

    def fit(self, x: pd.DataFrame, t: np.ndarray, y: np.ndarray) -> TLearner:
        _check(t, y)
        self.models = [
            clone(base_learner(self.base, self.seed)).fit(x[t == g], y[t == g]) for g in (0, 1)
        ]
        return self

    def predict_uplift(self, x: pd.DataFrame) -> np.ndarray:
        control, treated = self.models
        return treated.predict_proba(x)[:, 1] - control.predict_proba(x)[:, 1]


@dataclass
class ClassTransformation:
    """Jaskowski & Jaroszewicz (2012): Z = 1 when (treated and converted) or (control and
    not converted); uplift = 2 P(Z=1) - 1. Groups are reweighted to equal size so the
    identity holds for unbalanced assignment too."""

    base: str = "logistic"
    seed: int = 0
    model: Any = None

    @property
    def name(self) -> str:
        return f"class_transformation_{self.base}"

    def fit(self, x: pd.DataFrame, t: np.ndarray, y: np.ndarray) -> ClassTransformation:
        _check(t, y)
        z = (y == t).astype(int)
        p = t.mean()
        weight = np.where(t == 1, 0.5 / p, 0.5 / (1 - p))
        est = clone(base_learner(self.base, self.seed))
        last = est.steps[-1][0] if hasattr(est, "steps") else None
        kwargs = {f"{last}__sample_weight": weight} if last else {"sample_weight": weight}
        self.model = est.fit(x, z, **kwargs)
        return self

    def predict_uplift(self, x: pd.DataFrame) -> np.ndarray:
        return 2 * self.model.predict_proba(x)[:, 1] - 1


def candidate_models(seed: int = 0, bases: Sequence[str] = ("logistic", "gbm")) -> list[Any]:
    out: list[Any] = []
    for base in bases:
        out += [TLearner(base, seed), ClassTransformation(base, seed)]
    return out


@dataclass
class UpliftSelection:
    best: Any
    cv_qini: dict[str, float]
    cv_qini_folds: dict[str, list[float]]


def select_uplift_model(
    x: pd.DataFrame,
    t: np.ndarray,
    y: np.ndarray,
    candidates: Sequence[Any] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> UpliftSelection:
    """Mean Qini coefficient over stratified (treatment x outcome) folds per candidate;
    the best is refitted on all rows."""
    candidates = list(candidates or candidate_models(seed))
    strata = 2 * t + y
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores: dict[str, list[float]] = {m.name: [] for m in candidates}
    for tr, te in skf.split(x, strata):
        for m in candidates:
            fitted = clone_model(m).fit(x.iloc[tr], t[tr], y[tr])
            scores[m.name].append(qini_coefficient(y[te], t[te], fitted.predict_uplift(x.iloc[te])))
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    best_name = max(mean, key=lambda k: mean[k])
    best = clone_model(next(m for m in candidates if m.name == best_name)).fit(x, t, y)
    return UpliftSelection(best, mean, scores)


def clone_model(model: Any) -> Any:
    return type(model)(model.base, model.seed)


def targeting_list(
    model: Any,
    customers: pd.DataFrame,
    features: pd.DataFrame,
    budget: float,
    cost_per_contact: float,
    value_per_outcome: float | None = None,
) -> pd.DataFrame:
    """Who to contact: customers ranked by predicted uplift, as many as the budget pays
    for, skipping those whose predicted uplift is not positive (or, given
    `value_per_outcome`, whose expected incremental value is below the contact cost).
    `customers` needs a `customer_id` column aligned row by row with `features`."""
    if cost_per_contact <= 0 or budget < 0:
        raise AnalyticsError("need cost_per_contact > 0 and budget >= 0")
    if "customer_id" not in customers.columns or len(customers) != len(features):
        raise BadUploadError("customers need a customer_id column aligned with features")
    uplift = model.predict_uplift(features)
    frame = pd.DataFrame({"customer_id": customers["customer_id"].astype(str).to_numpy(),
                          "uplift": uplift})
    keep = frame["uplift"] > 0
    if value_per_outcome is not None:
        keep &= frame["uplift"] * value_per_outcome > cost_per_contact
    frame = frame[keep].sort_values(["uplift", "customer_id"], ascending=[False, True])
    n = int(np.floor(budget / cost_per_contact + 1e-9))
    frame = frame.head(n).reset_index(drop=True)
    frame["rank"] = np.arange(1, len(frame) + 1)
    frame["cumulative_cost"] = frame["rank"] * cost_per_contact
    frame["expected_incremental_outcomes"] = frame["uplift"].cumsum()
    return frame
