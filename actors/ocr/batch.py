"""Building blocks of batch OCR that need no Ray: content keys, atomic per-page part files,
one row per page. ``training/batch_ocr.py`` runs them in a Ray Data actor pool."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from actors.ocr.loading import DocType, detect_type, iter_pages
from actors.ocr.options import OcrOptions
from actors.ocr.pipeline import ocr_page, pages_to_ocr, text_layer_page
from actors.ocr.processors import ProcessorInput, run_processors

PAGE_SCHEMA = pa.schema(
    [
        ("source_path", pa.string()),
        ("content_hash", pa.string()),
        ("page", pa.int32()),  # 1-based; 0 = the whole file failed before any page
        ("text", pa.string()),
        ("confidence", pa.float64()),
        ("fields", pa.string()),  # JSON
        ("error", pa.string()),  # "ErrorType: message", null when fine
        ("seconds", pa.float64()),
    ]
)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class PartStore:
    """Per-page Parquet part files under ``root/parts``; a part's existence means "done".

    Each part is written to a temporary name and renamed, so a killed job leaves either a
    complete part or none (plus a temp file that :meth:`clean_temp` removes).
    """

    root: Path

    @property
    def parts_dir(self) -> Path:
        return self.root / "parts"

    def part_path(self, digest: str, page: int) -> Path:
        return self.parts_dir / digest[:2] / f"{digest}-p{page:05d}.parquet"

    def has(self, digest: str, page: int) -> bool:
        return self.part_path(digest, page).exists()

    def done_keys(self) -> set[tuple[str, int]]:
        keys: set[tuple[str, int]] = set()
        if not self.parts_dir.exists():
            return keys
        for path in self._part_files():
            digest, _, page = path.stem.rpartition("-p")
            if digest and page.isdigit():
                keys.add((digest, int(page)))
        return keys

    def _part_files(self) -> list[Path]:
        if not self.parts_dir.exists():
            return []
        return [p for p in self.parts_dir.glob("*/*.parquet") if not p.name.startswith(".")]

    def write(self, row: dict[str, Any]) -> None:
        final = self.part_path(row["content_hash"], row["page"])
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{uuid.uuid4().hex}.part"
        table = pa.Table.from_pylist([row], schema=PAGE_SCHEMA)
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)

    def clean_temp(self) -> int:
        removed = 0
        if self.parts_dir.exists():
            for tmp in self.parts_dir.glob("*/.tmp-*.part"):
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def read_all(self) -> pa.Table:
        files = sorted(self._part_files())
        if not files:
            return PAGE_SCHEMA.empty_table()
        return pa.concat_tables([pq.read_table(f, schema=PAGE_SCHEMA) for f in files])


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def process_file(
    path: str, data: bytes, options: OcrOptions, store: PartStore
) -> Iterator[dict[str, Any]]:
    """OCR the pages of one file not yet in ``store``; write each as a part and yield a
    status row ``{source_path, content_hash, page, status, seconds}`` per page, where status
    is ``done``, ``skipped`` (already in the store) or ``error``.

    Bad input never raises: a file that cannot be opened is recorded as one row with
    ``page=0`` and its error; a page that fails is recorded with its error.
    """
    digest = content_hash(data)

    def status(page: int, state: str, seconds: float = 0.0) -> dict[str, Any]:
        return {"source_path": path, "content_hash": digest, "page": page,
                "status": state, "seconds": seconds}

    if store.has(digest, 0):
        yield status(0, "skipped")
        return
    started = time.perf_counter()
    try:
        is_pdf = detect_type(data) is DocType.PDF
        render = pages_to_ocr(data, options.text_layer) if is_pdf else None
        for page in iter_pages(data, options, render=render):
            number = page.index + 1
            if store.has(digest, number):
                yield status(number, "skipped")
                continue
            t0 = time.perf_counter()
            row = _row(path, digest, number)
            try:
                result = (text_layer_page(page) if not page.has_image
                          else ocr_page(page, options).result)
                fields = run_processors(ProcessorInput(result.text, [result.text]),
                                        options.processors)
                row.update(text=result.text, confidence=result.mean_confidence,
                           fields=json.dumps(fields, ensure_ascii=False))
            except Exception as exc:  # recorded, the batch goes on
                row["error"] = _error_text(exc)
            seconds = round(time.perf_counter() - t0, 3)
            row["seconds"] = seconds
            store.write(row)
            yield status(number, "error" if row["error"] else "done", seconds)
    except Exception as exc:  # the file as a whole: corrupt, unsupported, encrypted, ...
        seconds = round(time.perf_counter() - started, 3)
        store.write(_row(path, digest, 0, error=_error_text(exc), seconds=seconds))
        yield status(0, "error", seconds)


def _row(path: str, digest: str, page: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"source_path": path, "content_hash": digest, "page": page,
                           "text": "", "confidence": None, "fields": "{}", "error": None,
                           "seconds": 0.0}
    row.update(values)
    return row
