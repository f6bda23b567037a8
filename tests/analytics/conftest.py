from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actors.analytics.datasets import cdnow_sample_ids, read_cdnow
from storage.warehouse.base import Warehouse
from tests.support import shared_data


@pytest.fixture(scope="session")
def cdnow_sample() -> pd.DataFrame:
    tx = read_cdnow(shared_data("marketing", "rfm_clv", "CDNOW_master.txt"))
    return tx[tx["customer_id"].isin(cdnow_sample_ids())].reset_index(drop=True)


@pytest.fixture(scope="session")
async def warehouse(chdb_warehouse: Warehouse) -> Warehouse:
    """The session's one embedded chDB (chDB allows one data path per process)."""
    await chdb_warehouse.connect()
    return chdb_warehouse


def small_transactions(seed: int = 0, customers: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2023-01-01")
    for c in range(customers):
        for _ in range(int(rng.integers(1, 8))):
            day = start + pd.Timedelta(days=int(rng.integers(0, 300)),
                                       hours=int(rng.integers(0, 23)))
            rows.append((f"c{c:03d}", day, float(rng.integers(1, 20000)) / 100))
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
