"""Import customer transactions (CSV or Parquet) into the Warehouse.

Every input row is accounted for: rows that cannot be used are **reported** per reason
(count and the first sample row numbers, 1-based data rows after the header) in the
returned `ImportReport`, never silently dropped. Rows kept but worth knowing about (zero
amounts, several rows for one customer-day) are counted in `notes`.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from actors.analytics.errors import BadUploadError

if TYPE_CHECKING:
    from storage.warehouse.base import Warehouse

TRANSACTIONS_TABLE = "transactions"
SAMPLE_ROWS = 10
REASONS = (
    "missing_customer_id",
    "unparseable_date",
    "unparseable_amount",
    "cancellation",
    "negative_amount",
)

# Accepted header spellings (lower-cased, spaces/underscores removed) per column.
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "custid", "clientid", "userid"),
    "timestamp": ("timestamp", "date", "invoicedate", "ts", "datetime", "orderdate", "time"),
    "amount": ("amount", "totalprice", "dollarvalue", "revenue", "value", "spend", "total"),
    "channel": ("channel",),
    "campaign": ("campaign", "campaignid"),
    "invoice": ("invoice", "invoiceno", "orderid", "transactionid"),
    "quantity": ("quantity", "qty", "numberofcds"),
}
REQUIRED = ("customer_id", "timestamp", "amount")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class RejectedRows:
    count: int
    sample_rows: list[int]


@dataclass
class ImportReport:
    """What an import did with every row it read."""

    source: str
    rows_read: int
    rows_imported: int
    rejected: dict[str, RejectedRows]
    notes: dict[str, int]
    customers: int
    first_timestamp: str | None
    last_timestamp: str | None
    table: str | None = None
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def rows_rejected(self) -> int:
        return sum(r.count for r in self.rejected.values())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows_rejected"] = self.rows_rejected
        return out


def validate_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise BadUploadError(f"invalid table name {name!r}")
    return name


def _read_frame(source: bytes | str | Path | pd.DataFrame, fmt: str | None) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if isinstance(source, (str, Path)):
        path = Path(source)
        fmt = fmt or ("parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BadUploadError(f"cannot read {path.name}: {exc.strerror}") from exc
    else:
        data = source
    if not data:
        raise BadUploadError("empty upload")
    if fmt is None:
        fmt = "parquet" if data[:4] == b"PAR1" else "csv"
    try:
        if fmt == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        if fmt != "csv":
            raise BadUploadError(f"unsupported format {fmt!r}; use csv or parquet")
        text = data.decode("utf-8-sig")
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=None,
                           engine="python")
    except BadUploadError:
        raise
    except UnicodeDecodeError as exc:
        raise BadUploadError("upload is not UTF-8 text (CSV) nor Parquet") from exc
    except Exception as exc:  # pandas/pyarrow raise many parser error types
        raise BadUploadError(f"cannot parse upload as {fmt}: {exc}") from exc


def _map_columns(frame: pd.DataFrame, mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Our column name -> the upload's column name."""
    found: dict[str, str] = {}
    norm = {re.sub(r"[\s_\-]", "", str(c)).lower(): str(c) for c in frame.columns}
    for ours, aliases in ALIASES.items():
        if mapping and ours in mapping:
            if mapping[ours] not in frame.columns:
                raise BadUploadError(f"mapped column {mapping[ours]!r} not in upload")
            found[ours] = mapping[ours]
            continue
        for alias in (ours.replace("_", ""), *aliases):
            if alias in norm:
                found[ours] = norm[alias]
                break
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise BadUploadError(
            f"missing required column(s) {missing}; found {[str(c) for c in frame.columns]}"
        )
    return found


def preview_upload(
    data: bytes, fmt: str | None = None, mapping: Mapping[str, str] | None = None,
    sample_bytes: int = 65_536,
) -> dict[str, str]:
    """Check an upload cheaply before importing it: readable as CSV/Parquet, at least one
    data row, every required column present (only the first `sample_bytes` of a CSV are
    parsed). Returns our column name -> the upload's; raises `BadUploadError`."""
    if not data:
        raise BadUploadError("empty upload")
    fmt = fmt or ("parquet" if data[:4] == b"PAR1" else "csv")
    if fmt == "csv" and len(data) > sample_bytes:
        cut = data.rfind(b"\n", 0, sample_bytes)
        data = data[: cut + 1] if cut > 0 else data
    frame = _read_frame(data, fmt)
    if frame.empty:
        raise BadUploadError("upload has a header but no rows")
    return _map_columns(frame, mapping)


def _as_text(series: pd.Series) -> pd.Series:
    out = series.astype("string").str.strip()
    return out.fillna("")


def _parse_dates(raw: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw):
        return pd.to_datetime(raw).dt.tz_localize(None) if raw.dt.tz is not None else raw
    text = _as_text(raw)
    compact = text.str.fullmatch(r"\d{8}")
    parsed = pd.to_datetime(text.where(~compact), errors="coerce", format="mixed")
    if compact.any():
        parsed[compact] = pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce")
    return parsed


def parse_transactions(
    source: bytes | str | Path | pd.DataFrame,
    *,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    source_name: str = "upload",
) -> tuple[pd.DataFrame, ImportReport]:
    """Parse and validate transactions without touching storage.

    Returns the clean frame (customer_id, timestamp, amount, channel, campaign) and the
    report. Raises `BadUploadError` when the upload is unreadable, lacks a required
    column, or has no usable row."""
    frame = _read_frame(source, fmt).reset_index(drop=True)
    if frame.empty:
        raise BadUploadError("upload has a header but no rows")
    cols = _map_columns(frame, mapping)
    n = len(frame)
    customer = _as_text(frame[cols["customer_id"]]).str.replace(r"\.0$", "", regex=True)
    timestamp = _parse_dates(frame[cols["timestamp"]])
    amount = pd.to_numeric(frame[cols["amount"]], errors="coerce").astype(float)
    invoice = _as_text(frame[cols["invoice"]]) if "invoice" in cols else pd.Series([""] * n)
    quantity = (
        pd.to_numeric(frame[cols["quantity"]], errors="coerce")
        if "quantity" in cols
        else pd.Series(np.nan, index=frame.index)
    )
    checks = {
        "missing_customer_id": customer.isin(["", "nan", "None", "NULL", "null"]).to_numpy(),
        "unparseable_date": timestamp.isna().to_numpy(),
        "unparseable_amount": ~np.isfinite(amount.to_numpy()),
        "cancellation": (invoice.str.upper().str.startswith("C") | (quantity < 0)).to_numpy(),
        "negative_amount": (amount < 0).to_numpy(),
    }
    taken = np.zeros(n, dtype=bool)
    rejected: dict[str, RejectedRows] = {}
    for reason in REASONS:
        hit = checks[reason] & ~taken
        taken |= hit
        if hit.any():
            rows = (np.flatnonzero(hit)[:SAMPLE_ROWS] + 1).tolist()
            rejected[reason] = RejectedRows(int(hit.sum()), rows)
    keep = ~taken
    clean = pd.DataFrame(
        {
            "customer_id": customer[keep].astype(str).to_numpy(),
            "timestamp": pd.to_datetime(timestamp[keep]).to_numpy(),
            "amount": amount[keep].to_numpy(),
            "channel": _as_text(frame[cols["channel"]])[keep].to_numpy()
            if "channel" in cols
            else "",
            "campaign": _as_text(frame[cols["campaign"]])[keep].to_numpy()
            if "campaign" in cols
            else "",
        }
    )
    if clean.empty:
        reasons = ", ".join(f"{k}={v.count}" for k, v in rejected.items())
        raise BadUploadError(f"no usable rows in upload ({reasons})")
    day = clean["timestamp"].dt.normalize()
    per_day = clean.groupby([clean["customer_id"], day]).size()
    notes = {
        "zero_amount": int((clean["amount"] == 0).sum()),
        "customer_days_with_several_rows": int((per_day > 1).sum()),
    }
    report = ImportReport(
        source=source_name,
        rows_read=n,
        rows_imported=len(clean),
        rejected=rejected,
        notes=notes,
        customers=int(clean["customer_id"].nunique()),
        first_timestamp=str(clean["timestamp"].min()),
        last_timestamp=str(clean["timestamp"].max()),
    )
    return clean, report


def transactions_ddl(table: str = TRANSACTIONS_TABLE) -> str:
    validate_identifier(table)
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        " customer_id String, ts DateTime64(3), amount Float64,"
        " channel LowCardinality(String), campaign String, batch_id String"
        ") ENGINE = MergeTree ORDER BY (customer_id, ts)"
    )


async def ensure_transactions_table(wh: Warehouse, table: str = TRANSACTIONS_TABLE) -> None:
    await wh.command(transactions_ddl(table))


async def import_transactions(
    wh: Warehouse,
    source: bytes | str | Path | pd.DataFrame,
    *,
    table: str = TRANSACTIONS_TABLE,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    source_name: str = "upload",
) -> ImportReport:
    """Parse, validate and append transactions to `table` (created if absent)."""
    clean, report = parse_transactions(source, fmt=fmt, mapping=mapping, source_name=source_name)
    await write_transactions(wh, clean, report, table)
    return report


async def write_transactions(
    wh: Warehouse, clean: pd.DataFrame, report: ImportReport, table: str = TRANSACTIONS_TABLE,
    chunk_rows: int = 50_000, on_progress: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """Append parsed transactions (from `parse_transactions`) to `table` (created if
    absent) in chunks, calling `on_progress(rows written)` after each."""
    await ensure_transactions_table(wh, table)
    out = clean.rename(columns={"timestamp": "ts"})
    out["batch_id"] = report.batch_id
    for start in range(0, len(out), chunk_rows):
        await wh.insert_df(table, out.iloc[start:start + chunk_rows])
        if on_progress is not None:
            await on_progress(min(start + chunk_rows, len(out)))
    report.table = table
