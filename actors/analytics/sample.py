"""A sample transactions file for a first look at the analytics, before a user has data of
their own: the real UCI Online Retail invoices from the shared data folder when they are
there, else a SYNTHETIC file made here (seeded, so every run makes the same one).

Both come as CSV bytes in the import's column layout (InvoiceNo, InvoiceDate, CustomerID,
TotalPrice), so they go through the same import as an upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REAL_SAMPLE_TABLE = "sample_online_retail"
SYNTHETIC_SAMPLE_TABLE = "synthetic_sample"
"""The datasets (Warehouse tables) the samples are imported into by default: the name says
which it is wherever the dataset id shows (segments, models, reports)."""
ONLINE_RETAIL = Path("rfm_clv") / "online_retail_invoices.csv"
"""The real sample, relative to the marketing data folder."""


@dataclass(frozen=True)
class SampleFile:
    data: bytes
    filename: str
    synthetic: bool
    table: str
    """The default dataset to import it into."""
    source: str
    """Where the transactions come from, in words for a person."""


def synthetic_transactions(seed: int = 0, customers: int = 1500, weeks: int = 52,
                           start: str = "2011-01-03", first_id: int = 20000) -> pd.DataFrame:
    """SYNTHETIC invoices (not real data): each customer gets a Gamma purchase rate (per
    week), a first purchase in the first third of the period, a Beta dropout chance after
    each purchase (BG/NBD-like) and lognormal amounts. Customer ids count up from
    ``first_id``."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, str, float]] = []
    invoice = 600000
    origin = pd.Timestamp(start)
    for number in range(customers):
        rate, drop = rng.gamma(0.8, 0.25), rng.beta(1.0, 4.0)
        day = float(rng.uniform(0, 7 * weeks / 3))
        while day < 7 * weeks:
            invoice += 1
            stamp = origin + pd.Timedelta(days=int(day))
            rows.append((str(invoice), str(stamp.date()), str(first_id + number),
                         round(float(rng.lognormal(3.0, 0.6)), 2)))
            if rng.random() < drop:
                break
            day += float(rng.exponential(1.0 / max(rate, 1e-3))) * 7
    return pd.DataFrame(rows, columns=["InvoiceNo", "InvoiceDate", "CustomerID", "TotalPrice"])


def sample_file(marketing_data: Path | None, seed: int = 0) -> SampleFile:
    """The real Online Retail invoices under ``marketing_data`` when present, else the
    synthetic transactions of ``seed``."""
    real = None if marketing_data is None else marketing_data / ONLINE_RETAIL
    if real is not None and real.is_file():
        return SampleFile(real.read_bytes(), real.name, synthetic=False,
                          table=REAL_SAMPLE_TABLE,
                          source="UCI Online Retail invoices (real, from the shared data)")
    frame = synthetic_transactions(seed)
    return SampleFile(frame.to_csv(index=False).encode(), "synthetic_transactions.csv",
                      synthetic=True, table=SYNTHETIC_SAMPLE_TABLE,
                      source=(f"SYNTHETIC transactions ({frame['CustomerID'].nunique()} "
                              "made-up customers, generated here: no real data was found)"))
