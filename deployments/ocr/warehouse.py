"""The Warehouse tables of document OCR.

- ``ocr_document_pages`` (setting ``ocr_document_pages_table``): one row per page of an
  uploaded document, keyed ``(document_id, page)``: text, words with boxes (JSON), ...
- ``ocr_pages`` (setting ``ocr_pages_table``): one row per page of batch runs, keyed
  ``(content_hash, page)``. :func:`load_batch_pages` inserts only keys not in the table
  yet, so loading the same Parquet output again (a rerun after a kill) adds nothing.

Both are ``ReplacingMergeTree`` on their key as a second guard; reads use ``FINAL``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from storage.warehouse.base import Warehouse

_IDENT = re.compile(r"^[A-Za-z_]\w{0,63}$")

DOCUMENT_PAGE_COLUMNS = (
    "document_id", "page", "source", "text", "words", "mean_confidence", "width", "height",
    "rotation", "skew", "variant", "steps", "timings", "created_at",
)
BATCH_PAGE_COLUMNS = (
    "content_hash", "page", "source_path", "text", "confidence", "fields", "error", "seconds",
    "job_id", "loaded_at",
)
KEY_CHUNK = 1000


def table_name(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"invalid warehouse table name {name!r}")
    return name


async def ensure_document_pages(wh: Warehouse, table: str) -> None:
    await wh.command(
        f"CREATE TABLE IF NOT EXISTS {table_name(table)} ("
        " document_id String, page UInt32, source String, text String, words String,"
        " mean_confidence Float64, width UInt32, height UInt32, rotation Int32,"
        " skew Float64, variant String, steps String, timings String, created_at Float64"
        ") ENGINE = ReplacingMergeTree ORDER BY (document_id, page)"
    )


async def ensure_batch_pages(wh: Warehouse, table: str) -> None:
    await wh.command(
        f"CREATE TABLE IF NOT EXISTS {table_name(table)} ("
        " content_hash String, page UInt32, source_path String, text String,"
        " confidence Nullable(Float64), fields String, error Nullable(String),"
        " seconds Float64, job_id String, loaded_at Float64"
        ") ENGINE = ReplacingMergeTree ORDER BY (content_hash, page)"
    )


def document_page_row(document_id: str, page: dict[str, Any], now: float) -> list[Any]:
    """A row of ``ocr_document_pages`` from ``PageResult.to_dict()``."""
    return [
        document_id, int(page["page"]), str(page.get("source", "ocr")), page.get("text", ""),
        json.dumps(page.get("words", []), ensure_ascii=False),
        float(page.get("mean_confidence") or 0.0), int(page.get("width") or 0),
        int(page.get("height") or 0), int(page.get("rotation") or 0),
        float(page.get("skew") or 0.0), str(page.get("variant") or ""),
        json.dumps(page.get("steps", [])), json.dumps(page.get("timings", {})), now,
    ]


async def insert_document_pages(wh: Warehouse, table: str, document_id: str,
                                pages: Sequence[dict[str, Any]]) -> int:
    now = time.time()
    rows = [document_page_row(document_id, p, now) for p in pages]
    return await wh.insert(table_name(table), rows, DOCUMENT_PAGE_COLUMNS)


async def document_pages(wh: Warehouse, table: str, document_id: str) -> list[dict[str, Any]]:
    """The stored pages of a document, in order, words decoded."""
    result = await wh.query(
        f"SELECT {', '.join(DOCUMENT_PAGE_COLUMNS[1:-1])} FROM {table_name(table)} FINAL"
        " WHERE document_id = {id:String} ORDER BY page", {"id": document_id},
    )
    pages = []
    for row in result.dicts():
        for key in ("words", "steps", "timings"):
            row[key] = json.loads(row[key])
        pages.append(row)
    return pages


async def document_page_count(wh: Warehouse, table: str, document_id: str) -> int:
    """Rows stored for the document, before any deduplication (no ``FINAL``)."""
    result = await wh.query(
        f"SELECT count() FROM {table_name(table)} WHERE document_id = {{id:String}}",
        {"id": document_id},
    )
    return int(result.rows[0][0])


async def existing_batch_keys(wh: Warehouse, table: str,
                              hashes: Iterable[str]) -> set[tuple[str, int]]:
    wanted = sorted(set(hashes))
    keys: set[tuple[str, int]] = set()
    for start in range(0, len(wanted), KEY_CHUNK):
        result = await wh.query(
            f"SELECT content_hash, page FROM {table_name(table)}"
            " WHERE content_hash IN {hashes:Array(String)}",
            {"hashes": wanted[start:start + KEY_CHUNK]},
        )
        keys.update((str(h), int(p)) for h, p in result.rows)
    return keys


async def load_batch_pages(wh: Warehouse, table: str, rows: Sequence[dict[str, Any]],
                           job_id: str, chunk: int = 5000) -> int:
    """Insert the batch page rows (Parquet ``PAGE_SCHEMA`` dicts) whose
    ``(content_hash, page)`` is not in ``table`` yet; returns how many were inserted.

    Each chunk is one insert (atomic); after a kill between chunks, loading again inserts
    exactly the rows that are still missing.
    """
    await ensure_batch_pages(wh, table)
    have = await existing_batch_keys(wh, table, (r["content_hash"] for r in rows))
    now = time.time()
    fresh: list[list[Any]] = []
    seen: set[tuple[str, int]] = set()
    for r in rows:
        key = (str(r["content_hash"]), int(r["page"]))
        if key in have or key in seen:
            continue
        seen.add(key)
        fresh.append([
            key[0], key[1], r.get("source_path") or "", r.get("text") or "",
            r.get("confidence"), r.get("fields") or "{}", r.get("error"),
            float(r.get("seconds") or 0.0), job_id, now,
        ])
    for start in range(0, len(fresh), chunk):
        await wh.insert(table_name(table), fresh[start:start + chunk], BATCH_PAGE_COLUMNS)
    return len(fresh)


async def batch_page_count(wh: Warehouse, table: str) -> int:
    result = await wh.query(f"SELECT count() FROM {table_name(table)}")
    return int(result.rows[0][0])
