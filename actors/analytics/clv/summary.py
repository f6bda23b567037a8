"""Per-customer (frequency, recency, T, monetary) summaries in the BG/NBD convention.

Purchases are aggregated per customer-day. In `time_unit_days` units (7 = weeks):
frequency = repeat purchase days, recency = first to last purchase, T = first purchase
to the end of the calibration period (the day `calibration_end`, inclusive), monetary =
mean amount of the repeat purchase days (0 when there is none)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from actors.analytics.errors import InsufficientDataError


def daily_purchases(transactions: pd.DataFrame) -> pd.DataFrame:
    day = transactions["timestamp"].dt.normalize()
    return (
        transactions.assign(day=day)
        .groupby(["customer_id", "day"], as_index=False)["amount"]
        .sum()
        .sort_values(["customer_id", "day"], kind="stable")
    )


def calibration_summary(
    transactions: pd.DataFrame,
    calibration_end: datetime | pd.Timestamp,
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """Summary of purchases on or before `calibration_end`, indexed by customer_id."""
    end = pd.Timestamp(calibration_end).normalize()
    daily = daily_purchases(transactions[transactions["timestamp"].dt.normalize() <= end])
    if daily.empty:
        raise InsufficientDataError(f"no purchases on or before {end:%Y-%m-%d}")
    daily["rank"] = daily.groupby("customer_id").cumcount()
    g = daily.groupby("customer_id")
    first, last = g["day"].min(), g["day"].max()
    repeat = daily[daily["rank"] > 0].groupby("customer_id")["amount"].mean()
    out = pd.DataFrame(
        {
            "frequency": (g.size() - 1).astype(float),
            "recency": (last - first).dt.days / time_unit_days,
            "T": (end - first).dt.days / time_unit_days,
        }
    )
    out["monetary"] = repeat.reindex(out.index).fillna(0.0)
    out.index = out.index.astype(str)
    return out


def holdout_purchases(
    transactions: pd.DataFrame,
    calibration_end: datetime | pd.Timestamp,
    holdout_end: datetime | pd.Timestamp,
    customers: pd.Index,
) -> pd.Series:
    """Purchase days per customer in (calibration_end, holdout_end], 0 for none."""
    start = pd.Timestamp(calibration_end).normalize()
    end = pd.Timestamp(holdout_end).normalize()
    day = transactions["timestamp"].dt.normalize()
    mask = (day > start) & (day <= end)
    daily = daily_purchases(transactions[mask])
    counts = daily.groupby("customer_id").size()
    counts.index = counts.index.astype(str)
    return counts.reindex(customers).fillna(0).astype(float)
