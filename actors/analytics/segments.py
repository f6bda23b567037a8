"""Customer segments from RFM: named quartile segments and KMeans on scaled RFM with k
chosen by silhouette. Deterministic for a given seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from actors.analytics.errors import InsufficientDataError
from actors.analytics.rfm import log_features

SEGMENT_ORDER = [
    "Champions",
    "Loyal",
    "New customers",
    "Potential loyalists",
    "Can't lose them",
    "At risk",
    "Hibernating",
    "Lost",
]


def name_segments(rfm: pd.DataFrame) -> pd.Series:
    """Segment name per row from r_score and the mean of f_score and m_score."""
    r = rfm["r_score"].to_numpy()
    fm = (rfm["f_score"].to_numpy() + rfm["m_score"].to_numpy()) / 2.0
    conditions = [
        (r == 4) & (fm >= 3.5),
        (r >= 3) & (fm >= 3),
        (r == 4) & (fm <= 1.5),
        r >= 3,
        (r == 1) & (fm >= 3.5),
        fm >= 2.5,
        r == 2,
    ]
    names = np.select(conditions, SEGMENT_ORDER[:-1], default=SEGMENT_ORDER[-1])
    return pd.Series(names, index=rfm.index, name="segment")


def segment_profiles(rfm: pd.DataFrame, by: str) -> pd.DataFrame:
    """Size, share and mean RFM per group, largest first (ties by name)."""
    grouped = rfm.groupby(by, sort=True)
    prof = grouped.agg(
        customers=("customer_id", "size"),
        recency_days=("recency_days", "mean"),
        frequency=("frequency", "mean"),
        monetary=("monetary", "mean"),
        total_monetary=("monetary", "sum"),
    )
    prof["share"] = prof["customers"] / prof["customers"].sum()
    prof = prof.reset_index().sort_values(["customers", by], ascending=[False, True])
    return prof.reset_index(drop=True).round(6)


@dataclass
class KMeansSegmentation:
    """KMeans fitted on standardised log-RFM; `k` chosen by silhouette."""

    k: int
    silhouette: float
    silhouette_by_k: dict[int, float]
    scaler: StandardScaler
    model: KMeans
    seed: int

    def predict(self, rfm: pd.DataFrame) -> np.ndarray:
        return self.model.predict(self.scaler.transform(log_features(rfm)))


def fit_kmeans_segments(
    rfm: pd.DataFrame,
    k_range: range = range(2, 9),
    seed: int = 0,
    silhouette_sample: int = 5000,
) -> KMeansSegmentation:
    """Fit KMeans for every k in `k_range`; keep the best silhouette (computed on a seeded
    sample of at most `silhouette_sample` customers)."""
    if len(rfm) < max(k_range) + 1:
        raise InsufficientDataError(
            f"{len(rfm)} customers is too few for k up to {max(k_range)}"
        )
    scaler = StandardScaler().fit(log_features(rfm))
    x = scaler.transform(log_features(rfm))
    scores: dict[int, float] = {}
    models: dict[int, KMeans] = {}
    for k in k_range:
        model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x)
        labels = model.labels_
        sample = min(silhouette_sample, len(x))
        scores[k] = float(silhouette_score(x, labels, sample_size=sample, random_state=seed))
        models[k] = model
    best = max(scores, key=lambda k: (round(scores[k], 12), -k))
    return KMeansSegmentation(best, scores[best], scores, scaler, models[best], seed)


def segment_customers(
    rfm: pd.DataFrame, k_range: range = range(2, 9), seed: int = 0
) -> tuple[pd.DataFrame, KMeansSegmentation]:
    """RFM plus `segment` (named quartile segment) and `cluster` (KMeans label, clusters
    numbered by descending mean monetary so labels are stable across runs)."""
    seg = fit_kmeans_segments(rfm, k_range, seed)
    raw = seg.model.labels_
    means = pd.Series(rfm["monetary"].to_numpy()).groupby(raw).mean()
    order = {int(c): i for i, c in enumerate(means.sort_values(ascending=False).index)}
    out = rfm.copy()
    out["segment"] = name_segments(rfm)
    out["cluster"] = np.array([order[int(c)] for c in raw], dtype=np.int64)
    return out, seg
