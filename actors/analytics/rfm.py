"""RFM per customer, computed in the Warehouse (ClickHouse SQL), with a pandas
reference implementation of exactly the same definitions.

Definitions, for transactions strictly before `as_of`:
- recency_days: days from the last purchase day to `as_of`'s day
- frequency: number of distinct purchase days
- monetary: total amount
- tenure_days: days from the first purchase day to `as_of`'s day
- r_score, f_score, m_score: 1..4 quartile scores, ties share a score:
  ``1 + floor(4 * (rank_min - 1) / n)`` with rank_min the 1-based minimum rank in
  ascending order of (-recency_days), frequency and monetary respectively. Monetary is
  ranked at cent precision (``round(100 * monetary)``): sums of the same amounts added
  in another order differ in the last float bits, and must still tie.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from actors.analytics.errors import InsufficientDataError
from actors.analytics.ingest import TRANSACTIONS_TABLE, validate_identifier

if TYPE_CHECKING:
    from storage.warehouse.base import Warehouse

RFM_COLUMNS = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "r_score",
    "f_score",
    "m_score",
]


QUARTILE_LEVELS = "0.25 - 1e-10, 0.5 - 1e-10, 0.75 - 1e-10"
"""``rank_min - 1`` of a value is the number of customers below it, so its score is 1 plus
the number of cuts it exceeds, cut k being the order statistic at 0-based index
``ceil(k * n / 4) - 1``. ``quantileExact`` returns the element at index ``floor(level * n)``
(a selection, no sort), and ``level = k / 4 - 1e-10`` gives that index for every
n < 2.5e9. Three selections instead of three window sorts over every customer."""


def _score_sql(value: str, cuts: str) -> str:
    return (f"toInt64(1 + ({value} > {cuts}[1]) + ({value} > {cuts}[2]) "
            f"+ ({value} > {cuts}[3]))")


def rfm_sql(table: str = TRANSACTIONS_TABLE) -> str:
    """The ClickHouse query; parameter ``as_of`` (DateTime64(3))."""
    validate_identifier(table)
    cents = "round(100 * monetary)"
    return f"""
WITH base AS (
    SELECT
        customer_id,
        toInt64(dateDiff('day', max(toDate(ts)), toDate({{as_of:DateTime64(3)}})))
            AS recency_days,
        toInt64(uniqExact(toDate(ts))) AS frequency,
        sum(amount) AS monetary,
        toInt64(dateDiff('day', min(toDate(ts)), toDate({{as_of:DateTime64(3)}})))
            AS tenure_days
    FROM {table}
    WHERE ts < {{as_of:DateTime64(3)}}
    GROUP BY customer_id
),
cuts AS (
    SELECT
        quantilesExact({QUARTILE_LEVELS})(-recency_days) AS r_cuts,
        quantilesExact({QUARTILE_LEVELS})(frequency) AS f_cuts,
        quantilesExact({QUARTILE_LEVELS})({cents}) AS m_cuts
    FROM base
)
SELECT
    customer_id, recency_days, frequency, monetary, tenure_days,
    {_score_sql("-recency_days", "r_cuts")} AS r_score,
    {_score_sql("frequency", "f_cuts")} AS f_score,
    {_score_sql(cents, "m_cuts")} AS m_score
FROM base CROSS JOIN cuts
ORDER BY customer_id
"""


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[RFM_COLUMNS].sort_values("customer_id", kind="stable").reset_index(drop=True)
    for col in ("recency_days", "frequency", "tenure_days", "r_score", "f_score", "m_score"):
        frame[col] = frame[col].astype("int64")
    frame["monetary"] = frame["monetary"].astype(float)
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame


async def compute_rfm(
    wh: Warehouse, as_of: datetime | pd.Timestamp, table: str = TRANSACTIONS_TABLE
) -> pd.DataFrame:
    """RFM of every customer with a transaction before `as_of`, computed in the warehouse."""
    stamp = pd.Timestamp(as_of).to_pydatetime()
    frame = await wh.query_df(rfm_sql(table), {"as_of": stamp})
    if frame.empty:
        raise InsufficientDataError(f"no transactions before {stamp:%Y-%m-%d} in {table}")
    return _finish(frame)


def _score(values: pd.Series) -> pd.Series:
    ranks = values.rank(method="min").astype("int64")
    return 1 + (4 * (ranks - 1)) // len(values)


def compute_rfm_pandas(transactions: pd.DataFrame, as_of: datetime | pd.Timestamp) -> pd.DataFrame:
    """The same RFM in pandas (reference and baseline). Needs customer_id, timestamp,
    amount."""
    stamp = pd.Timestamp(as_of)
    tx = transactions[transactions["timestamp"] < stamp]
    if tx.empty:
        raise InsufficientDataError(f"no transactions before {stamp:%Y-%m-%d}")
    day = tx["timestamp"].dt.normalize()
    grouped = tx.assign(day=day).groupby("customer_id", sort=False)
    out = grouped.agg(
        last=("day", "max"), first=("day", "min"), frequency=("day", "nunique"),
        monetary=("amount", "sum"),
    ).reset_index()
    today = stamp.normalize()
    out["recency_days"] = (today - out["last"]).dt.days
    out["tenure_days"] = (today - out["first"]).dt.days
    out["r_score"] = _score(-out["recency_days"])
    out["f_score"] = _score(out["frequency"])
    out["m_score"] = _score((100 * out["monetary"]).round())
    return _finish(out)


def log_features(rfm: pd.DataFrame) -> np.ndarray:
    """log1p(recency, frequency, monetary) as used for clustering."""
    cols = rfm[["recency_days", "frequency", "monetary"]].to_numpy(dtype=float)
    return np.log1p(np.clip(cols, 0, None))
