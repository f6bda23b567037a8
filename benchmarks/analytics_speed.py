"""RFM + named segments + segment profile: in the Warehouse (embedded ClickHouse via
chDB, one SQL query) vs the same in pandas, same run, results checked equal — on the real
Online Retail + CDNOW transactions and on synthetic tables resampled from them (customers
and dates) at up to 10^7 rows, to find where the warehouse overtakes pandas.

    python benchmarks/analytics_speed.py [--quick] [--repeat N] [--sizes 1e6,1e7]

The synthetic tables are generated here, in memory, never written to the repository:
row ``i`` copies a random real transaction (amount, date), gives it to copy ``k`` of
that real customer (``K = ceil(rows / real rows)`` copies, so customers grow with the
table and keep the real purchase counts' shape), and shifts its date by that synthetic
customer's own offset of -180..180 days. Each size is generated, measured and freed
before the next (10^7 rows peak at about 3 GiB in this process).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.analytics.datasets import read_cdnow, read_online_retail
from actors.analytics.ingest import ensure_transactions_table
from actors.analytics.rfm import compute_rfm, compute_rfm_pandas
from actors.analytics.segment_profile import (
    compute_segment_profile,
    compute_segment_profile_pandas,
)
from storage.registry import open_backend
from storage.warehouse.base import Warehouse

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "marketing" / "rfm_clv"
FULL_SIZES = "1e5,3e5,1e6,3e6,1e7"
QUICK_SIZES = "1e5,1e6"
FRAME_MAX_ROWS = 1_000_000
"""Largest size at which the per-customer RFM frame is also fetched from the warehouse
(the cost of moving every customer's row out of the engine, for the record)."""


@dataclass
class Row:
    label: str
    rows: int
    customers: int
    ingest_s: float
    warehouse_s: float
    frame_s: float | None
    pandas_s: float
    warehouse_cpu_s: float
    pandas_cpu_s: float


def cpu_s() -> float:
    """CPU seconds of this process, all threads (chDB runs in them): on a loaded machine
    the wall clock counts time spent waiting for a core, this does not."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def real_transactions() -> pd.DataFrame:
    """Online Retail and CDNOW together (ids prefixed: the two sets' ids overlap)."""
    retail = read_online_retail(DATA / "online_retail_invoices.csv")
    cdnow = read_cdnow(DATA / "CDNOW_master.txt")
    return pd.concat([
        retail.assign(customer_id="r" + retail["customer_id"])[["customer_id", "timestamp",
                                                                 "amount"]],
        cdnow.assign(customer_id="c" + cdnow["customer_id"])[["customer_id", "timestamp",
                                                              "amount"]],
    ], ignore_index=True)


def synthetic(real: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """`rows` transactions resampled from `real` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    codes, uniques = pd.factorize(real["customer_id"])
    copies = max(1, -(-rows // len(real)))
    pick = rng.integers(0, len(real), rows)
    customer = codes[pick].astype(np.int64) * copies + rng.integers(0, copies, rows)
    shift_days = rng.integers(-180, 181, len(uniques) * copies)
    stamps = (real["timestamp"].to_numpy(dtype="datetime64[ns]")[pick]
              + shift_days[customer].astype("timedelta64[D]"))
    ids = pc.binary_join_element_wise("s", pc.cast(pa.array(customer), pa.string()), "")
    return pd.DataFrame({
        "customer_id": pd.Series(ids.to_pandas(types_mapper=pd.ArrowDtype), dtype="str"),
        "timestamp": stamps,
        "amount": real["amount"].to_numpy()[pick],
    })


async def ingest(wh: Warehouse, tx: pd.DataFrame, table: str, chunk_rows: int = 1_000_000) -> float:
    """Load `tx` into `table` (the transactions schema) and return the seconds taken."""
    t0 = time.perf_counter()
    await ensure_transactions_table(wh, table)
    out = tx.rename(columns={"timestamp": "ts"})
    out["batch_id"] = "bench"
    for start in range(0, len(out), chunk_rows):
        await wh.insert_df(table, out.iloc[start:start + chunk_rows])
    return time.perf_counter() - t0


async def measure(wh: Warehouse, label: str, tx: pd.DataFrame, repeat: int, n: int) -> Row:
    table = f"bench_rfm_{n}"
    ingest_s = await ingest(wh, tx, table)
    as_of = tx["timestamp"].max().normalize() + pd.Timedelta(days=1)
    sql_t, frame_t, pd_t, sql_cpu, pd_cpu = [], [], [], [], []
    try:
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), cpu_s()
            sql = await compute_segment_profile(wh, as_of, table=table)
            sql_t.append(time.perf_counter() - t0)
            sql_cpu.append(cpu_s() - c0)
            t0, c0 = time.perf_counter(), cpu_s()
            ref = compute_segment_profile_pandas(tx, as_of)
            pd_t.append(time.perf_counter() - t0)
            pd_cpu.append(cpu_s() - c0)
            pd.testing.assert_frame_equal(sql, ref, check_exact=False, rtol=1e-9)
        if len(tx) <= FRAME_MAX_ROWS:
            for _ in range(repeat):
                t0 = time.perf_counter()
                frame = await compute_rfm(wh, as_of, table=table)
                frame_t.append(time.perf_counter() - t0)
            pd.testing.assert_frame_equal(frame, compute_rfm_pandas(tx, as_of),
                                          check_exact=False, rtol=1e-9)
            del frame
    finally:
        await wh.command(f"DROP TABLE IF EXISTS {table}")
    return Row(label, len(tx), int(sql["customers"].sum()), ingest_s, statistics.median(sql_t),
               statistics.median(frame_t) if frame_t else None, statistics.median(pd_t),
               statistics.median(sql_cpu), statistics.median(pd_cpu))


async def run(sizes: list[int], repeat: int) -> list[Row]:
    real = real_transactions()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        wh = open_backend("warehouse", f"chdb://{tmp}")
        await wh.connect()
        try:
            rows.append(await measure(wh, "real (OR + CDNOW)", real, repeat, 0))
            for n in sizes:
                tx = synthetic(real, n)
                rows.append(await measure(wh, "synthetic", tx, repeat, n))
                del tx
                gc.collect()
                print(f"  done {n:,} rows", file=sys.stderr, flush=True)
        finally:
            await wh.close()
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| data | rows | customers | ingest s | warehouse ms | pandas ms | pandas/warehouse "
        "| warehouse CPU ms | pandas CPU ms | CPU ratio "
        "| RFM frame out of warehouse ms | pandas/frame |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        frame = f"{r.frame_s * 1e3:.0f}" if r.frame_s is not None else "-"
        frame_ratio = f"{r.pandas_s / r.frame_s:.2f}x" if r.frame_s else "-"
        lines.append(
            f"| {r.label} | {r.rows:,} | {r.customers:,} | {r.ingest_s:.1f} | "
            f"{r.warehouse_s * 1e3:.0f} | {r.pandas_s * 1e3:.0f} | "
            f"{r.pandas_s / r.warehouse_s:.2f}x | {r.warehouse_cpu_s * 1e3:.0f} | "
            f"{r.pandas_cpu_s * 1e3:.0f} | {r.pandas_cpu_s / r.warehouse_cpu_s:.2f}x | "
            f"{frame} | {frame_ratio} |"
        )
    return "\n".join(lines)


def crossover(rows: list[Row]) -> str:
    ordered = sorted(rows, key=lambda r: r.rows)
    for smaller, larger in itertools.pairwise(ordered):
        if smaller.pandas_s < smaller.warehouse_s and larger.pandas_s >= larger.warehouse_s:
            return f"crossover between {smaller.rows:,} and {larger.rows:,} rows"
    if ordered and ordered[0].pandas_s >= ordered[0].warehouse_s:
        return f"the warehouse is ahead already at {ordered[0].rows:,} rows"
    return "no crossover in the sizes measured"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, 3 repeats")
    parser.add_argument("--repeat", type=int, default=None, help="default 3 (quick) or 5")
    parser.add_argument("--sizes", default=None,
                        help=f"synthetic row counts (default {FULL_SIZES})")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"needs the real transactions in {DATA}", file=sys.stderr)
        return 2
    repeat = args.repeat or (3 if args.quick else 5)
    sizes = [int(float(s)) for s in (args.sizes or (QUICK_SIZES if args.quick
                                                       else FULL_SIZES)).split(",")]
    load_start = os.getloadavg()
    rows = asyncio.run(run(sizes, repeat))
    load_end = os.getloadavg()
    print(f"RFM + named segments + segment profile, median of {repeat} (results checked equal);"
          " warehouse = one chDB query returning the profile, pandas = compute_rfm_pandas + "
          "name_segments + segment_profiles")
    print(table(rows))
    print(crossover(rows))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS {peak:.1f} GiB; load average 1/5/15 min at start "
          f"{'/'.join(f'{x:.2f}' for x in load_start)}, at end "
          f"{'/'.join(f'{x:.2f}' for x in load_end)} on {os.cpu_count()} cores "
          "(a shared machine: timings move with the load)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
