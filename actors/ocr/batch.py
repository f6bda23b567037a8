"""Building blocks of batch OCR that need no Ray: content keys, atomic per-page part files,
one row per page. ``training/batch_ocr.py`` runs them in a Ray Data actor pool."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from actors.ocr.errors import EngineInterruptedError, OcrError
from actors.ocr.loading import DocType, PageImage, detect_type, iter_pages
from actors.ocr.models import PageResult
from actors.ocr.options import OcrOptions
from actors.ocr.pipeline import (
    file_page_result,
    ocr_page,
    pages_to_ocr,
    reads_file_as_is,
    text_layer_page,
)
from actors.ocr.processors import ProcessorInput, run_processors
from actors.ocr.recognize import recognize_files

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
    ``page=0`` and its error; a page that fails is recorded with its error. An interrupted
    engine does raise (:class:`EngineInterruptedError`, once ``recognize`` has started
    Tesseract again ``ENGINE_RETRIES`` times): the page it was reading gets no part, so it
    stays undone for the task's retry or the next run; the pages before it are kept.
    """
    digest = content_hash(data)
    if store.has(digest, 0):
        yield _status(path, digest, 0, "skipped")
        return
    started = time.perf_counter()
    try:
        is_pdf = detect_type(data) is DocType.PDF
        render = pages_to_ocr(data, options.text_layer) if is_pdf else None
        for page in iter_pages(data, options, render=render):
            number = page.index + 1
            if store.has(digest, number):
                yield _status(path, digest, number, "skipped")
                continue
            t0 = time.perf_counter()

            def recognise(page: PageImage = page) -> PageResult:
                return (text_layer_page(page) if not page.has_image
                        else ocr_page(page, options).result)

            yield _write_page(store, path, digest, number, recognise, options, t0)
    except EngineInterruptedError:
        raise  # not the file's fault: no page-0 error row
    except Exception as exc:  # the file as a whole: corrupt, unsupported, encrypted, ...
        seconds = round(time.perf_counter() - started, 3)
        store.write(_row(path, digest, 0, error=_error_text(exc), seconds=seconds))
        yield _status(path, digest, 0, "error", seconds)


def process_files(
    items: list[tuple[str, bytes]], options: OcrOptions, store: PartStore
) -> Iterator[dict[str, Any]]:
    """:func:`process_file` for each ``(path, data)``, with the same rows. When ``options``
    read files as they are (``reads_file_as_is``: plain SINGLE), the single-page image files
    not done yet are recognised together by one Tesseract process (``recognize_files``: the
    model is loaded once, ~12% less CPU per page); their ``seconds`` is the call's time
    shared equally. If that call fails, each file goes through :func:`process_file`, which
    records its own error; an interrupted call too (no row is written for it), and
    :func:`process_file` raises if Tesseract is interrupted again there."""
    together: list[tuple[str, str, PageImage]] = []
    alone: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    plain = reads_file_as_is(options)
    for path, data in items:
        page = _file_page(data, options) if plain else None
        digest = content_hash(data)
        if page is None or digest in seen or store.has(digest, 0) or store.has(digest, 1):
            alone.append((path, data))  # (a second copy is then skipped, as one by one)
        else:
            together.append((path, digest, page))
        seen.add(digest)
    if len(together) > 1:
        t0 = time.perf_counter()
        try:
            timeout = (None if options.page_timeout_s is None
                       else options.page_timeout_s * len(together))
            recognitions = recognize_files([page.encoded or b"" for _, _, page in together],
                                           lang=options.lang, psm=options.psm,
                                           timeout_s=timeout)
        except OcrError:  # EngineInterruptedError included: no row, read one by one below
            recognitions = None
        if recognitions is not None:
            share = (time.perf_counter() - t0) / len(together)
            for (path, digest, page), rec in zip(together, recognitions, strict=True):
                yield _write_page(store, path, digest, 1,
                                  partial(file_page_result, page, rec, options), options,
                                  time.perf_counter() - share)
            together = []
    for path, data in [*((p, page.encoded or b"") for p, _, page in together), *alone]:
        yield from process_file(path, data, options, store)


def _file_page(data: bytes, options: OcrOptions) -> PageImage | None:
    """The page of a single-page image file that Tesseract can read as it is, else None
    (PDFs, multi-page files, anything that fails: :func:`process_file` handles those)."""
    try:
        if detect_type(data) is DocType.PDF:
            return None
        pages = iter_pages(data, options)
        page = next(pages, None)
        if page is None or page.encoded is None or next(pages, None) is not None:
            return None
        return page
    except Exception:
        return None


def _write_page(store: PartStore, path: str, digest: str, number: int,
                recognise: Callable[[], PageResult], options: OcrOptions,
                started: float) -> dict[str, Any]:
    """Recognise page ``number`` (errors are recorded in its row), write its part, return
    its status row. An interrupted engine is no error of the page: it raises, and no part
    is written."""
    row = _row(path, digest, number)
    try:
        result = recognise()
        fields = run_processors(ProcessorInput(result.text, [result.text]), options.processors)
        row.update(text=result.text, confidence=result.mean_confidence,
                   fields=json.dumps(fields, ensure_ascii=False))
    except EngineInterruptedError:
        raise
    except Exception as exc:  # recorded, the batch goes on
        row["error"] = _error_text(exc)
    row["seconds"] = round(time.perf_counter() - started, 3)
    store.write(row)
    return _status(path, digest, number, "error" if row["error"] else "done", row["seconds"])


def _status(path: str, digest: str, page: int, state: str,
            seconds: float = 0.0) -> dict[str, Any]:
    return {"source_path": path, "content_hash": digest, "page": page, "status": state,
            "seconds": seconds}


def _row(path: str, digest: str, page: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"source_path": path, "content_hash": digest, "page": page,
                           "text": "", "confidence": None, "fields": "{}", "error": None,
                           "seconds": 0.0}
    row.update(values)
    return row
