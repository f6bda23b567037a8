from __future__ import annotations

import pandas as pd
import pytest

from actors.crypto.csv_import import import_ohlcv
from actors.crypto.errors import CsvFormatError
from tests.support import shared_data

CCXT = b"""timestamp,open,high,low,close,volume
2021-01-01 00:00:00,100,101,99,100.5,10
2021-01-01 01:00:00,100.5,102,100,101,11
2021-01-01 02:00:00,101,103,100.5,102,12
2021-01-01 03:00:00,102,102.5,101,101.5,13
2021-01-01 04:00:00,101.5,102,100,100.2,14
2021-01-01 05:00:00,100.2,101,99.5,100.8,15
"""

CDD_HEADER = "unix,date,symbol,open,high,low,close,Volume BTC,Volume USDT,tradecount\n"


def cdd_rows(hours: list[int], *, seconds: bool = False, base: int = 1609459200) -> list[str]:
    rows = []
    for h in hours:
        ts = base + 3600 * h
        unix = f"{ts}.0" if seconds else str(ts * 1000)
        price = 100.0 + h
        rows.append(
            f"{unix},2021-01-01 {h:02d}:00:00,BTC/USDT,{price:.8f},{price + 1:.8f},"
            f"{price - 1:.8f},{price + 0.5:.8f},1.5,150.0,{'NULL' if seconds else 42}"
        )
    return rows


def test_ccxt_clean_file_needs_no_fixes() -> None:
    candles, report = import_ohlcv(CCXT)
    assert report.source_format == "ccxt"
    assert report.interval == "1h"
    assert len(candles) == 6 == report.rows_out
    assert str(candles.index.tz) == "UTC"
    assert candles.index.is_monotonic_increasing
    assert list(candles.columns) == ["open", "high", "low", "close", "volume", "gap_before"]
    nonzero = {k: v for k, v in report.fixes.items() if v and k != "timestamps_text"}
    assert nonzero == {}


def test_banner_line_is_skipped() -> None:
    data = "https://www.CryptoDataDownload.com\n" + CDD_HEADER + "\n".join(cdd_rows([0, 1, 2]))
    candles, report = import_ohlcv(data.encode())
    assert report.fixes["banner_lines_skipped"] == 1
    assert report.symbol == "BTC/USDT"
    assert len(candles) == 3


def test_descending_rows_are_reversed() -> None:
    data = CDD_HEADER + "\n".join(reversed(cdd_rows(list(range(6)))))
    candles, report = import_ohlcv(data.encode())
    assert report.fixes["descending_order_reversed"] == 1
    assert candles.index.is_monotonic_increasing
    assert candles["close"].iloc[0] == pytest.approx(100.5)


def test_mixed_second_and_millisecond_timestamps() -> None:
    rows = cdd_rows([0, 1, 2], seconds=True) + cdd_rows([3, 4, 5])
    candles, report = import_ohlcv((CDD_HEADER + "\n".join(rows)).encode())
    assert report.fixes["timestamps_seconds"] == 3
    assert report.fixes["timestamps_milliseconds"] == 3
    expected = pd.date_range("2021-01-01", periods=6, freq="1h", tz="UTC")
    assert list(candles.index) == list(expected)


def test_duplicates_keep_the_precise_row_and_count_conflicts() -> None:
    precise = cdd_rows([0, 1, 2, 3])
    rounded = cdd_rows([1, 2], seconds=True)
    rounded[1] = rounded[1].replace("102.50000000", "150.00000000")  # a real disagreement
    candles, report = import_ohlcv((CDD_HEADER + "\n".join(precise + rounded)).encode())
    assert report.fixes["duplicates_removed"] == 2
    assert report.fixes["duplicate_conflicts"] == 1
    assert len(candles) == 4
    assert candles["close"].iloc[2] == pytest.approx(102.5)  # the precise (ms) row won


def test_gaps_are_flagged_not_filled() -> None:
    candles, report = import_ohlcv((CDD_HEADER + "\n".join(cdd_rows([0, 1, 2, 5, 6, 7]))).encode())
    assert report.interval == "1h"
    assert report.fixes["gaps"] == 1
    assert report.fixes["missing_candles"] == 2
    assert len(candles) == 6
    assert candles["gap_before"].tolist() == [False, False, False, True, False, False]
    gap = report.gaps[0]
    assert gap.after == pd.Timestamp("2021-01-01 02:00", tz="UTC")
    assert gap.missing == 2


def test_bad_first_print_is_repaired() -> None:
    rows = cdd_rows(list(range(8)))
    first = rows[0].split(",")
    first[3] = first[4] = "400.00000000"  # open/high four times the close: a bad print
    rows[0] = ",".join(first)
    candles, report = import_ohlcv((CDD_HEADER + "\n".join(rows)).encode())
    assert report.fixes["outlier_prices_repaired"] == 2
    assert candles["open"].iloc[0] == pytest.approx(100.5)  # no previous close: its own close
    assert candles["high"].iloc[0] == pytest.approx(100.5)
    assert (candles["high"] >= candles[["open", "close"]].max(axis=1)).all()


def test_bad_close_drops_the_row() -> None:
    rows = cdd_rows(list(range(8)))
    fields = rows[4].split(",")
    fields[6] = "1.00000000"  # close of 1 amid ~100: a bad print at the close
    rows[4] = ",".join(fields)
    candles, report = import_ohlcv((CDD_HEADER + "\n".join(rows)).encode())
    assert report.fixes["outlier_rows_dropped"] == 1
    assert report.fixes["missing_candles"] == 1
    assert len(candles) == 7


def test_am_pm_dates_without_unix_column() -> None:
    data = b"date,open,high,low,close,volume\n2017-08-17 04-AM,1,2,0.5,1.5,3\n"
    data += b"2017-08-17 05-AM,1.5,2,1,1.8,3\n2017-08-17 01-PM,1.8,2,1,1.9,3\n"
    candles, report = import_ohlcv(data, interval="1h")
    assert report.fixes["timestamps_text"] == 3
    assert candles.index[-1] == pd.Timestamp("2017-08-17 13:00", tz="UTC")
    assert report.fixes["missing_candles"] == 7


def test_malformed_rows_are_dropped_up_to_a_limit() -> None:
    lines = CCXT.decode().splitlines()
    lines.insert(3, "not-a-date,1,2,3,4,5")
    candles, report = import_ohlcv("\n".join(lines).encode())
    assert report.fixes["malformed_rows_dropped"] == 1
    assert len(candles) == 6
    junk = lines[:1] + ["x,1,2,3,4,5"] * 5 + lines[1:3]
    with pytest.raises(CsvFormatError, match="malformed"):
        import_ohlcv("\n".join(junk).encode())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no header"),
        (b"timestamp,open,high,low\n2021-01-01,1,2,3\n", "missing column 'close'"),
        (b"open,high,low,close\n1,2,0.5,1\n", "no time column"),
        (b"timestamp,open,high,low,close\n", "no header and data rows|no rows"),
        (b"\xff\xfe\x00bad", "UTF-8"),
    ],
)
def test_unreadable_files_raise_typed_errors(content: bytes, message: str) -> None:
    with pytest.raises(CsvFormatError, match=message):
        import_ohlcv(content)


def test_missing_path_raises_typed_error(tmp_path) -> None:
    with pytest.raises(CsvFormatError, match="no such file"):
        import_ohlcv(tmp_path / "absent.csv")


def test_real_btc_hourly_file() -> None:
    candles, report = import_ohlcv(shared_data("crypto", "ohlcv", "Binance_BTCUSDT_1h.csv"))
    assert report.symbol == "BTC/USDT"
    assert report.rows_read == 27377
    assert report.fixes["duplicates_removed"] == 721
    assert report.fixes["duplicate_conflicts"] == 0
    assert report.fixes["timestamps_milliseconds"] == 721
    assert report.fixes["descending_order_reversed"] == 1
    assert report.fixes["missing_candles"] == 4
    assert report.fixes["outlier_prices_repaired"] == 2
    assert candles["open"].iloc[0] < 5000  # the 16199.91 launch print is gone
    assert candles.index[0] == pd.Timestamp("2017-08-17 04:00", tz="UTC")
    assert candles.index[-1] == pd.Timestamp("2020-08-31 23:00", tz="UTC")
    assert candles.index.is_unique


def test_real_cdd_daily_with_banner_and_ccxt_two_hourly() -> None:
    eth, report = import_ohlcv(shared_data("crypto", "ohlcv", "Binance_ETHUSDT_d.csv"))
    assert report.fixes["banner_lines_skipped"] == 1
    assert report.fixes["descending_order_reversed"] == 1
    assert report.interval == "1d" and len(eth) == 2144 and report.fixes["missing_candles"] == 0
    btc2h, report2 = import_ohlcv(shared_data("crypto", "ohlcv", "BTC_USDT_2h_binance.csv"))
    assert report2.interval == "2h"
    assert report2.fixes["missing_candles"] == 53
    assert int(btc2h["gap_before"].sum()) == report2.fixes["gaps"]
