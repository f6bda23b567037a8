"""Import OHLCV candle CSVs (CCXT exports and CryptoDataDownload exports) into one clean frame.

Handled quirks, each counted in the returned :class:`ImportReport`:

* a banner line before the header (CryptoDataDownload: ``https://www.CryptoDataDownload.com``);
* rows in descending time order;
* Unix timestamps in seconds (possibly with a decimal) and milliseconds mixed in one file, or
  ISO dates / ``2017-08-17 04-AM`` dates when there is no Unix column;
* duplicated candles (the same open time twice) — the most precise row is kept;
* malformed rows (unparseable time or prices, non-positive prices) — dropped;
* bad prints: an open or close more than ``outlier_factor`` times (a high or low more than
  its square) away from the median close of the four neighbouring candles — repaired from the
  previous close (or the row dropped when the close itself is bad);
* OHLC envelopes that do not contain the open and close — widened;
* missing candles — not invented, but flagged (``gap_before``) and listed.

The result is indexed by the candle *open* time (UTC), ascending, unique.
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actors.crypto.errors import CsvFormatError
from actors.crypto.symbols import format_interval, normalize_symbol, parse_interval

CANDLE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
MAX_MALFORMED_FRACTION = 0.2
_AMPM = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s+(\d{1,2})-(AM|PM)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Gap:
    """Missing candles between two present ones: ``after`` is the last candle before the hole."""

    after: pd.Timestamp
    before: pd.Timestamp
    missing: int


@dataclass
class ImportReport:
    """What the importer found and fixed. ``fixes`` holds a count per kind (zero when absent)."""

    source_format: str
    symbol: str | None
    interval: str
    rows_read: int
    rows_out: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    fixes: dict[str, int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (timestamps as ISO strings)."""
        out = asdict(self)
        out["first"] = self.first.isoformat() if self.first is not None else None
        out["last"] = self.last.isoformat() if self.last is not None else None
        out["gaps"] = [
            {"after": g.after.isoformat(), "before": g.before.isoformat(), "missing": g.missing}
            for g in self.gaps
        ]
        return out


def import_ohlcv(
    source: bytes | str | Path,
    *,
    interval: str | None = None,
    outlier_factor: float = 2.0,
) -> tuple[pd.DataFrame, ImportReport]:
    """Read an OHLCV CSV (``bytes`` content or a path) and return ``(candles, report)``.

    ``candles`` has a UTC ``DatetimeIndex`` named ``timestamp`` (candle open time) and float
    columns ``open, high, low, close, volume`` plus a bool ``gap_before``. ``interval`` (e.g.
    ``"1h"``) is inferred from the most common spacing when not given.
    Raises ``CsvFormatError`` for content that cannot be read as candles.
    """
    text = _read_text(source)
    fixes: dict[str, int] = dict.fromkeys(_FIX_KINDS, 0)
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    banner = 0
    while lines and "," not in lines[0]:
        lines.pop(0)
        banner += 1
    fixes["banner_lines_skipped"] = banner
    if len(lines) < 2:
        raise CsvFormatError("no header and data rows found")
    try:
        raw = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise CsvFormatError(f"not a readable CSV: {exc}") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    rows_read = len(raw)
    if rows_read == 0:
        raise CsvFormatError("the file has a header but no rows")

    columns = _map_columns(list(raw.columns))
    source_format = "cryptodatadownload" if ("unix" in raw.columns or banner) else "ccxt"
    symbol = _symbol(raw, columns.get("symbol"))

    frame = pd.DataFrame(index=raw.index)
    frame["timestamp"] = _timestamps(raw, columns, fixes)
    for name in PRICE_COLUMNS:
        frame[name] = pd.to_numeric(raw[columns[name]], errors="coerce")
    frame["volume"] = (
        pd.to_numeric(raw[columns["volume"]], errors="coerce") if "volume" in columns else np.nan
    )
    frame["_quality"] = _row_quality(raw, columns, frame)

    prices = frame[list(PRICE_COLUMNS)]
    bad = frame["timestamp"].isna() | prices.isna().any(axis=1) | (prices <= 0).any(axis=1)
    bad |= frame["volume"] < 0
    fixes["malformed_rows_dropped"] = int(bad.sum())
    if bad.sum() > MAX_MALFORMED_FRACTION * rows_read:
        raise CsvFormatError(
            f"{int(bad.sum())} of {rows_read} rows are malformed "
            f"(unparseable time or price); refusing to guess"
        )
    frame = frame.loc[~bad]

    ts = frame["timestamp"]
    if len(ts) > 1 and (ts.diff().dropna() < pd.Timedelta(0)).any():
        fixes["rows_reordered"] = len(ts)
        if (ts.diff().dropna() <= pd.Timedelta(0)).all():
            fixes["descending_order_reversed"] = 1
    frame = frame.sort_values(["timestamp", "_quality"], ascending=[True, False], kind="stable")
    dup = frame["timestamp"].duplicated(keep="first")
    fixes["duplicates_removed"] = int(dup.sum())
    if dup.any():
        fixes["duplicate_conflicts"] = _conflicts(frame, dup)
    frame = frame.loc[~dup].set_index("timestamp").drop(columns="_quality")
    frame.index.name = "timestamp"

    step = parse_interval(interval) if interval else _infer_interval(frame.index)
    frame = _repair_outliers(frame, outlier_factor, fixes)
    frame = _repair_envelope(frame, fixes)
    frame["volume"] = frame["volume"].fillna(0.0)
    if len(frame) == 0:
        raise CsvFormatError("no valid candles left after cleaning")

    gaps = _gaps(frame.index, step)
    frame["gap_before"] = False
    for gap in gaps:
        frame.loc[gap.before, "gap_before"] = True
    fixes["gaps"] = len(gaps)
    fixes["missing_candles"] = sum(g.missing for g in gaps)
    misaligned = (frame.index - frame.index[0]) % step != pd.Timedelta(0)
    fixes["misaligned_timestamps"] = int(np.asarray(misaligned).sum())

    report = ImportReport(
        source_format=source_format,
        symbol=symbol,
        interval=format_interval(step),
        rows_read=rows_read,
        rows_out=len(frame),
        first=frame.index[0],
        last=frame.index[-1],
        fixes=fixes,
        gaps=gaps,
    )
    return frame[[*CANDLE_COLUMNS, "gap_before"]].astype(
        {c: "float64" for c in CANDLE_COLUMNS}
    ), report


_FIX_KINDS = (
    "banner_lines_skipped",
    "rows_reordered",
    "descending_order_reversed",
    "timestamps_seconds",
    "timestamps_milliseconds",
    "timestamps_text",
    "malformed_rows_dropped",
    "duplicates_removed",
    "duplicate_conflicts",
    "outlier_prices_repaired",
    "outlier_rows_dropped",
    "ohlc_envelope_repaired",
    "gaps",
    "missing_candles",
    "misaligned_timestamps",
)


def _read_text(source: bytes | str | Path) -> str:
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise CsvFormatError(f"no such file: {path}")
        data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(f"not UTF-8 text: {exc}") from exc


def _map_columns(cols: list[str]) -> dict[str, str]:
    """Map our names (open, high, ..., unix, date, symbol, trades) to the file's columns."""
    mapping: dict[str, str] = {}
    for name in PRICE_COLUMNS:
        if name not in cols:
            raise CsvFormatError(f"missing column {name!r}; have {cols}")
        mapping[name] = name
    if "volume" in cols:
        mapping["volume"] = "volume"
    else:  # CDD: "volume btc" (base) and "volume usdt" (quote): the base comes first
        vols = [c for c in cols if c.startswith("volume")]
        if vols:
            mapping["volume"] = vols[0]
    for ours, candidates in (
        ("unix", ("unix", "unix_timestamp", "timestamp_ms")),
        ("date", ("timestamp", "date", "datetime", "time", "open_time")),
        ("symbol", ("symbol", "pair")),
        ("trades", ("tradecount", "trades", "trade_count")),
    ):
        for cand in candidates:
            if cand in cols:
                mapping[ours] = cand
                break
    if "unix" not in mapping and "date" not in mapping:
        raise CsvFormatError(f"no time column (unix/timestamp/date) among {cols}")
    return mapping


def _symbol(raw: pd.DataFrame, column: str | None) -> str | None:
    if column is None:
        return None
    values = {v.strip() for v in raw[column].unique() if v.strip()}
    if len(values) > 1:
        raise CsvFormatError(f"one symbol per file expected, found {sorted(values)[:5]}")
    if not values:
        return None
    return normalize_symbol(values.pop(), supported=None)


def _timestamps(raw: pd.DataFrame, columns: dict[str, str], fixes: dict[str, int]) -> pd.Series:
    result = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if "unix" in columns:
        values = pd.to_numeric(raw[columns["unix"]], errors="coerce")
        as_ms = values >= 1e11  # 1e11 s is the year 5138; 1e11 ms is 1973
        as_s = values.notna() & ~as_ms
        fixes["timestamps_milliseconds"] = int(as_ms.sum())
        fixes["timestamps_seconds"] = int(as_s.sum())
        millis = (values.where(as_ms) + 0).fillna(values.where(as_s) * 1000.0)
        ok = millis.notna() & (millis > 0)
        result.loc[ok] = pd.to_datetime(millis[ok].round().astype("int64"), unit="ms", utc=True)
    if "date" in columns:
        missing = result.isna()
        if missing.any():
            parsed = _parse_dates(raw.loc[missing, columns["date"]])
            fixes["timestamps_text"] = int(parsed.notna().sum())
            result.loc[missing] = parsed
    return result


def _parse_dates(values: pd.Series) -> pd.Series:
    """ISO-like dates plus CryptoDataDownload's ``2017-08-17 04-AM`` hour format."""
    text = values.astype(str).str.strip()
    ampm = text.str.match(_AMPM)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if ampm.any():
        out.loc[ampm] = pd.to_datetime(
            text[ampm], format="%Y-%m-%d %I-%p", utc=True, errors="coerce"
        )
    rest = ~ampm & (text != "")
    if rest.any():
        out.loc[rest] = pd.to_datetime(text[rest], format="ISO8601", utc=True, errors="coerce")
    return out


def _row_quality(raw: pd.DataFrame, columns: dict[str, str], frame: pd.DataFrame) -> pd.Series:
    """Higher is better when two rows describe the same candle: more decimals, a trade count."""
    decimals = raw[columns["close"]].str.partition(".")[2].str.len().fillna(0)
    quality = decimals.astype(float)
    if "trades" in columns:
        trades = pd.to_numeric(raw[columns["trades"]], errors="coerce")
        quality += trades.notna().astype(float) * 100.0
    return quality


def _conflicts(frame: pd.DataFrame, dup: pd.Series, rel_tol: float = 1e-3) -> int:
    """Duplicates whose prices disagree beyond rounding with the row that was kept."""
    kept = frame.loc[~dup].set_index("timestamp")[list(PRICE_COLUMNS)]
    dropped = frame.loc[dup].set_index("timestamp")[list(PRICE_COLUMNS)]
    ref = kept.loc[dropped.index]
    rel = (dropped.to_numpy() - ref.to_numpy()) / ref.to_numpy()
    return int((np.abs(rel) > rel_tol).any(axis=1).sum())


def _infer_interval(index: pd.DatetimeIndex) -> pd.Timedelta:
    if len(index) < 2:
        raise CsvFormatError("cannot infer the candle interval from fewer than two rows")
    diffs = pd.Series(index[1:] - index[:-1])
    step = diffs.mode().iloc[0]
    if step <= pd.Timedelta(0):
        raise CsvFormatError("cannot infer a positive candle interval")
    return pd.Timedelta(step)


def _repair_outliers(frame: pd.DataFrame, factor: float, fixes: dict[str, int]) -> pd.DataFrame:
    """Bad prints: a price more than ``factor`` x away from the centred 5-candle median close."""
    if len(frame) < 5:
        return frame
    frame = frame.copy()
    limit = float(np.log(factor))
    close = frame["close"]
    # the median of the neighbours' closes (the row itself excluded)
    neighbours = pd.concat([close.shift(k) for k in (-2, -1, 1, 2)], axis=1)
    ref = neighbours.median(axis=1, skipna=True)
    dist = pd.DataFrame({c: np.abs(np.log(frame[c] / ref)) for c in PRICE_COLUMNS})
    far = dist > limit
    # wicks may legitimately reach far (thin early markets): only a wick beyond factor**2, or
    # one that is the bad open itself (a bad print at the open sets the high/low too), is bad
    for wick in ("high", "low"):
        far[wick] = (dist[wick] > 2 * limit) | (far["open"] & (frame[wick] == frame["open"]))
    bad_close = far["close"]
    fixes["outlier_rows_dropped"] = int(bad_close.sum())
    frame = frame.loc[~bad_close]
    far = far.loc[~bad_close]
    repaired = 0
    prev_close = frame["close"].shift(1)
    for idx in far.index[far.any(axis=1)]:
        row = frame.loc[idx]
        open_ = row["open"]
        if far.at[idx, "open"]:
            pc = prev_close.get(idx)
            open_ = float(pc) if pc is not None and np.isfinite(pc) else float(row["close"])
            repaired += 1
        lo, hi = min(open_, row["close"]), max(open_, row["close"])
        high = hi if far.at[idx, "high"] else row["high"]
        low = lo if far.at[idx, "low"] else row["low"]
        repaired += int(far.at[idx, "high"]) + int(far.at[idx, "low"])
        frame.loc[idx, ["open", "high", "low"]] = [open_, high, low]
    fixes["outlier_prices_repaired"] = repaired
    return frame


def _repair_envelope(frame: pd.DataFrame, fixes: dict[str, int]) -> pd.DataFrame:
    hi = frame[["open", "close", "high"]].max(axis=1)
    lo = frame[["open", "close", "low"]].min(axis=1)
    broken = (hi > frame["high"]) | (lo < frame["low"])
    fixes["ohlc_envelope_repaired"] = int(broken.sum())
    if broken.any():
        frame = frame.copy()
        frame["high"], frame["low"] = hi, lo
    return frame


def _gaps(index: pd.DatetimeIndex, step: pd.Timedelta) -> list[Gap]:
    if len(index) < 2:
        return []
    diffs = index[1:] - index[:-1]
    holes = np.flatnonzero(diffs > step)
    return [
        Gap(
            after=index[i],
            before=index[i + 1],
            missing=int(diffs[i] // step) - 1,
        )
        for i in holes
    ]
