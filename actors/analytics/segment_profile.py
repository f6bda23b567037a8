"""RFM + named quartile segments + the profile of each segment, computed where the data
lives: in the Warehouse as one ClickHouse query (nothing per customer leaves the engine),
with the pandas reference built from `compute_rfm_pandas`, `name_segments` and
`segment_profiles` (the same definitions, checked equal by the tests and the benchmark).

A profile row: segment, customers, mean recency_days / frequency / monetary,
total_monetary, share — largest segment first, ties by name (`segment_profiles`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from actors.analytics.errors import InsufficientDataError
from actors.analytics.ingest import TRANSACTIONS_TABLE, validate_identifier
from actors.analytics.rfm import compute_rfm_pandas, rfm_sql
from actors.analytics.segments import SEGMENT_ORDER, name_segments, segment_profiles

if TYPE_CHECKING:
    from storage.warehouse.base import Warehouse

PROFILE_COLUMNS = ["segment", "customers", "recency_days", "frequency", "monetary",
                   "total_monetary", "share"]


def _segment_expression() -> str:
    """`name_segments` as a ClickHouse multiIf over r_score and (f_score + m_score) / 2."""
    fm = "((f_score + m_score) / 2.0)"
    conditions = [
        f"r_score = 4 AND {fm} >= 3.5",
        f"r_score >= 3 AND {fm} >= 3",
        f"r_score = 4 AND {fm} <= 1.5",
        "r_score >= 3",
        f"r_score = 1 AND {fm} >= 3.5",
        f"{fm} >= 2.5",
        "r_score = 2",
    ]
    names = [_quoted(name) for name in SEGMENT_ORDER]
    parts = [f"{cond}, {name}" for cond, name in zip(conditions, names[:-1], strict=True)]
    return "multiIf(" + ", ".join(parts) + f", {names[-1]})"


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def segment_profile_sql(table: str = TRANSACTIONS_TABLE) -> str:
    """One query: per-customer RFM and scores (`rfm_sql`), the segment name, then the
    profile per segment. Parameter ``as_of`` (DateTime64(3))."""
    validate_identifier(table)
    scored = rfm_sql(table).strip().removesuffix("ORDER BY customer_id").strip()
    return f"""
WITH scored AS ({scored}),
named AS (SELECT *, {_segment_expression()} AS segment FROM scored)
SELECT
    segment,
    toInt64(count()) AS customers,
    avg(recency_days) AS mean_recency_days,
    avg(frequency) AS mean_frequency,
    avg(monetary) AS mean_monetary,
    sum(monetary) AS total_monetary
FROM named
GROUP BY segment
"""


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.rename(columns={"mean_recency_days": "recency_days",
                                  "mean_frequency": "frequency", "mean_monetary": "monetary"})
    frame["segment"] = frame["segment"].astype(str)
    frame["customers"] = frame["customers"].astype("int64")
    frame["share"] = frame["customers"] / frame["customers"].sum()
    frame = frame.sort_values(["customers", "segment"], ascending=[False, True])
    return frame[PROFILE_COLUMNS].reset_index(drop=True).round(6)


async def compute_segment_profile(
    wh: Warehouse, as_of: datetime | pd.Timestamp, table: str = TRANSACTIONS_TABLE
) -> pd.DataFrame:
    """The segment profile of every customer with a transaction before `as_of`,
    computed in the warehouse in one query."""
    stamp = pd.Timestamp(as_of).to_pydatetime()
    frame = await wh.query_df(segment_profile_sql(table), {"as_of": stamp})
    if frame.empty:
        raise InsufficientDataError(f"no transactions before {stamp:%Y-%m-%d} in {table}")
    return _finish(frame)


def compute_segment_profile_pandas(
    transactions: pd.DataFrame, as_of: datetime | pd.Timestamp
) -> pd.DataFrame:
    """The same profile in pandas (reference and baseline)."""
    rfm = compute_rfm_pandas(transactions, as_of)
    rfm["segment"] = name_segments(rfm)
    return _finish(segment_profiles(rfm, "segment"))
