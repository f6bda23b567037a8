"""RFM + quartile scores over the full Online Retail and CDNOW transactions: in the
Warehouse (embedded ClickHouse via chDB, SQL) vs the same in pandas, same run.

    python benchmarks/analytics_speed.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.analytics.datasets import read_cdnow, read_online_retail
from actors.analytics.ingest import import_transactions
from actors.analytics.rfm import compute_rfm, compute_rfm_pandas
from storage.registry import open_backend

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "marketing" / "rfm_clv"


async def run(repeat: int) -> list[tuple[str, int, int, float, float]]:
    sets = {
        "online_retail": read_online_retail(DATA / "online_retail_invoices.csv"),
        "cdnow": read_cdnow(DATA / "CDNOW_master.txt"),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        wh = open_backend("warehouse", f"chdb://{tmp}")
        await wh.connect()
        try:
            for name, tx in sets.items():
                await import_transactions(wh, tx, table=f"bench_{name}")
                as_of = tx["timestamp"].max().normalize() + pd.Timedelta(days=1)
                sql_t, pd_t = [], []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    a = await compute_rfm(wh, as_of, table=f"bench_{name}")
                    sql_t.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    b = compute_rfm_pandas(tx, as_of)
                    pd_t.append(time.perf_counter() - t0)
                pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
                rows.append((name, len(tx), len(a), statistics.median(sql_t),
                             statistics.median(pd_t)))
        finally:
            await wh.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 10")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    repeat = args.repeat or (3 if args.quick else 10)
    rows = asyncio.run(run(repeat))
    print(f"RFM + quartile scores, median of {repeat} (results checked equal)")
    print(f"{'dataset':15s} {'rows':>8s} {'customers':>9s} {'chDB SQL ms':>12s} "
          f"{'pandas ms':>10s} {'pandas/SQL':>10s}")
    for name, n, c, s, p in rows:
        print(f"{name:15s} {n:8d} {c:9d} {s * 1e3:12.1f} {p * 1e3:10.1f} {p / s:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
