from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from actors.analytics.errors import InsufficientDataError
from actors.analytics.ingest import import_transactions
from actors.analytics.rfm import compute_rfm, compute_rfm_pandas
from actors.analytics.segments import SEGMENT_ORDER, name_segments, segment_customers
from tests.analytics.conftest import small_transactions


async def test_rfm_sql_equals_pandas_reference(warehouse) -> None:  # type: ignore[no-untyped-def]
    tx = small_transactions()
    await import_transactions(warehouse, tx, table="t_rfm")
    as_of = pd.Timestamp("2023-09-01")
    sql = await compute_rfm(warehouse, as_of, table="t_rfm")
    ref = compute_rfm_pandas(tx, as_of)
    pdt.assert_frame_equal(sql, ref, check_exact=False, rtol=1e-9)
    # a hand-checked customer
    one = tx[(tx["customer_id"] == "c000") & (tx["timestamp"] < as_of)]
    row = ref.set_index("customer_id").loc["c000"]
    assert row["frequency"] == one["timestamp"].dt.normalize().nunique()
    assert row["monetary"] == pytest.approx(one["amount"].sum())
    assert row["recency_days"] == (as_of - one["timestamp"].max().normalize()).days
    assert set(ref["r_score"]) <= {1, 2, 3, 4}
    with pytest.raises(InsufficientDataError):
        await compute_rfm(warehouse, pd.Timestamp("2000-01-01"), table="t_rfm")


def test_segment_names_follow_scores() -> None:
    rfm = pd.DataFrame({"r_score": [4, 4, 1, 1, 2, 3], "f_score": [4, 1, 4, 1, 1, 3],
                        "m_score": [4, 1, 4, 1, 2, 3]})
    assert list(name_segments(rfm)) == ["Champions", "New customers", "Can't lose them",
                                        "Lost", "Hibernating", "Loyal"]


def test_kmeans_reproducible_with_seed() -> None:
    rfm = compute_rfm_pandas(small_transactions(customers=120), pd.Timestamp("2023-12-01"))
    a, seg_a = segment_customers(rfm, range(2, 6), seed=3)
    b, seg_b = segment_customers(rfm, range(2, 6), seed=3)
    pdt.assert_frame_equal(a, b)
    assert seg_a.k == seg_b.k and seg_a.k in range(2, 6)
    assert seg_a.silhouette == max(seg_a.silhouette_by_k.values())
    assert set(a["segment"]) <= set(SEGMENT_ORDER)


async def test_segment_profile_in_one_query_equals_pandas(warehouse) -> None:  # type: ignore[no-untyped-def]
    from actors.analytics.segment_profile import (
        compute_segment_profile,
        compute_segment_profile_pandas,
    )

    tx = small_transactions(customers=200)
    # the same amounts in another order for two customers: equal sums must tie in m_score
    twin = tx[tx["customer_id"] == "c001"].iloc[::-1].assign(customer_id="twin")
    tx = pd.concat([tx, twin], ignore_index=True)
    await import_transactions(warehouse, tx, table="t_profile")
    as_of = pd.Timestamp("2023-12-01")
    sql = await compute_segment_profile(warehouse, as_of, table="t_profile")
    ref = compute_segment_profile_pandas(tx, as_of)
    pdt.assert_frame_equal(sql, ref, check_exact=False, rtol=1e-9)
    assert sql["customers"].sum() == tx[tx["timestamp"] < as_of]["customer_id"].nunique()
    assert set(sql["segment"]) <= set(SEGMENT_ORDER) and len(sql) >= 3
    assert sql["share"].sum() == pytest.approx(1.0)


async def test_quartile_scores_equal_the_rank_definition_at_every_small_size(warehouse) -> None:  # type: ignore[no-untyped-def]
    """The SQL scores come from three exact order statistics (no window ranks): at every
    customer count from 1 to 13, with heavy ties (2 amounts, 3 dates), they equal the
    pandas rank definition, so the cut index ceil(k n / 4) - 1 is right at every n mod 4."""
    import numpy as np

    rng = np.random.default_rng(7)
    for n in range(1, 14):
        rows = [(f"c{i:02d}", pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(d)),
                 float(a))
                for i in range(n) for d, a in zip(rng.choice([0, 30, 60], 1 + i % 3),
                                                  rng.choice([10.0, 20.0], 1 + i % 3),
                                                  strict=True)]
        tx = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
        await import_transactions(warehouse, tx, table=f"t_small_{n}")
        as_of = pd.Timestamp("2023-06-01")
        sql = await compute_rfm(warehouse, as_of, table=f"t_small_{n}")
        pdt.assert_frame_equal(sql, compute_rfm_pandas(tx, as_of), check_exact=False,
                               rtol=1e-9, obj=f"{n} customers")
