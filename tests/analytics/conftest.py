from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actors.analytics.datasets import cdnow_sample_ids, read_cdnow
from tests.support import shared_data


@pytest.fixture(scope="session")
def cdnow_sample() -> pd.DataFrame:
    tx = read_cdnow(shared_data("marketing", "rfm_clv", "CDNOW_master.txt"))
    return tx[tx["customer_id"].isin(cdnow_sample_ids())].reset_index(drop=True)


@pytest.fixture(scope="session")
async def warehouse(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from storage.registry import open_backend

    wh = open_backend("warehouse", f"chdb://{tmp_path_factory.mktemp('chdb')}")
    await wh.connect()
    yield wh
    await wh.close()


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
