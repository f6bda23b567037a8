"""Readers for the public marketing datasets' native layouts (see shared/data/marketing/
SOURCE.md), returning the column names the rest of the package expects."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd


def read_cdnow(path: str | Path) -> pd.DataFrame:
    """CDNOW master file -> columns customer_id (str), timestamp, amount, quantity."""
    frame = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].str.lstrip("0"),
            "timestamp": pd.to_datetime(frame["date"], format="%Y%m%d"),
            "amount": frame["dollar_value"].astype(float),
            "quantity": frame["number_of_cds"].astype(int),
        }
    )


def read_online_retail(path: str | Path) -> pd.DataFrame:
    """UCI Online Retail invoices -> customer_id, timestamp, amount, invoice."""
    frame = pd.read_csv(path, dtype={"InvoiceNo": str, "CustomerID": str})
    return pd.DataFrame(
        {
            "customer_id": frame["CustomerID"].str.replace(r"\.0$", "", regex=True),
            "timestamp": pd.to_datetime(frame["InvoiceDate"]),
            "amount": frame["TotalPrice"].astype(float).round(2),
            "invoice": frame["InvoiceNo"],
        }
    )


def read_hillstrom(path: str | Path) -> pd.DataFrame:
    """Hillstrom e-mail experiment, unchanged columns."""
    return pd.read_csv(path)


def read_robyn_weekly(path: str | Path) -> pd.DataFrame:
    """Robyn simulated weekly media data with a parsed `DATE` column."""
    frame = pd.read_csv(path)
    frame["DATE"] = pd.to_datetime(frame["DATE"])
    frame["events"] = frame["events"].fillna("")
    return frame


@cache
def cdnow_sample_ids() -> frozenset[str]:
    """Master ids of the standard CDNOW 1/10th sample (2,357 customers) of Fader, Hardie
    & Lee (2005), whose BG/NBD fit is the published r=0.243, alpha=4.414, a=0.793,
    b=2.426."""
    text = (
        resources.files("actors.analytics")
        .joinpath("reference/cdnow_sample_ids.json")
        .read_text(encoding="utf-8")
    )
    return frozenset(str(i) for i in json.loads(text)["ids"])
