from __future__ import annotations

import io

import pandas as pd
import pytest

from actors.analytics.errors import BadUploadError
from actors.analytics.ingest import import_transactions, parse_transactions

QUIRKS = (
    "InvoiceNo,InvoiceDate,CustomerID,TotalPrice,Quantity\n"
    "1001,2011-01-03,17850,10.5,1\n"      # 1 ok
    "1002,2011-01-03,,5,1\n"              # 2 missing id
    "1003,not a date,17850,5,1\n"         # 3 unparseable date
    "1004,2011-01-04,17851,abc,1\n"       # 4 unparseable amount
    "C1005,2011-01-04,17851,-5,-1\n"      # 5 cancellation (prefix C)
    "1006,2011-01-05,17852,-3,1\n"        # 6 negative amount
    "1007,2011-01-05,17852,0,1\n"         # 7 zero amount: kept, noted
    "1008,20110105,17852.0,4,1\n"         # 8 compact date, float id: kept
    "1009,2011-01-05,17853,7,-2\n"        # 9 negative quantity: cancellation
    "1010,2011-01-05,17852,1,1\n"         # 10 ok; same customer-day as 7 and 8
)


def test_every_quirk_is_reported_with_row_numbers() -> None:
    clean, report = parse_transactions(QUIRKS.encode())
    got = {k: (v.count, v.sample_rows) for k, v in report.rejected.items()}
    assert got == {
        "missing_customer_id": (1, [2]),
        "unparseable_date": (1, [3]),
        "unparseable_amount": (1, [4]),
        "cancellation": (2, [5, 9]),
        "negative_amount": (1, [6]),
    }
    assert report.rows_read == 10 and report.rows_imported == 4 and report.rows_rejected == 6
    assert report.notes == {"zero_amount": 1, "customer_days_with_several_rows": 1}
    assert sorted(clean["customer_id"]) == ["17850", "17852", "17852", "17852"]
    assert clean["timestamp"].min() == pd.Timestamp("2011-01-03")


def test_parquet_and_column_mapping() -> None:
    frame = pd.DataFrame({"who": ["a", "b"], "when": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                          "paid": [1.0, 2.0], "channel": ["web", "shop"]})
    buf = io.BytesIO()
    frame.to_parquet(buf)
    clean, report = parse_transactions(
        buf.getvalue(), mapping={"customer_id": "who", "timestamp": "when", "amount": "paid"})
    assert report.rows_imported == 2 and list(clean["channel"]) == ["web", "shop"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty upload"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"foo,bar\n1,2\n", "missing required column"),
        (b"customer_id,date,amount\n", "no rows"),
        (b"customer_id,date,amount\n,x,y\n", "no usable rows"),
    ],
)
def test_bad_uploads_raise_typed_errors(payload: bytes, message: str) -> None:
    with pytest.raises(BadUploadError, match=message):
        parse_transactions(payload)


def test_bad_mapping_and_table_name() -> None:
    with pytest.raises(BadUploadError, match="mapped column"):
        parse_transactions(b"a,b,c\n1,2024-01-01,3\n", mapping={"customer_id": "zz"})


async def test_import_writes_to_warehouse(warehouse) -> None:  # type: ignore[no-untyped-def]
    report = await import_transactions(warehouse, QUIRKS.encode(), table="t_import")
    assert report.table == "t_import"
    res = await warehouse.query("SELECT count(), uniqExact(batch_id) FROM t_import")
    assert res.rows[0] == (4, 1)
    with pytest.raises(BadUploadError, match="invalid table name"):
        await import_transactions(warehouse, QUIRKS.encode(), table="x; DROP TABLE y")
