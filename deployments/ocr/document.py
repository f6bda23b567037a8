"""One document, page by page, off the event loop, with a callback after every page.

This is the loop of :func:`actors.ocr.process_document` over the same steps
(`recognise_page` per page, then `assemble`), each run on the service's bounded thread
pool so that the service can publish progress, keep page images and interleave the pages of
several documents; ``tests/deployments/test_ocr_routes.py`` checks that both give the same
text.

pdfium is not thread-safe: every call that opens or renders a PDF holds :data:`PDFIUM`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from actors.ocr.errors import CorruptDocumentError, OcrError, PageLimitError
from actors.ocr.loading import DocType, PageImage, check_size, count_pages, detect_type, iter_pages
from actors.ocr.models import DocumentResult, PageResult
from actors.ocr.options import OcrOptions
from actors.ocr.pdf_output import PdfPart
from actors.ocr.pipeline import assemble, pages_to_ocr, recognise_page
from actors.ocr.recognize import check_languages

PDFIUM = threading.Lock()
T = TypeVar("T")
Runner = Callable[..., Awaitable[Any]]
"""``await run(fn, *args)``: ``fn(*args)`` on the service's thread pool."""
PageHook = Callable[[PageImage, PageResult, "PdfPart | None", bool], Awaitable[None]]
"""``await on_page(page, result, pdf_part, resumed)`` after every page; ``resumed``: the
page came from ``resume`` (an earlier delivery finished it), not from OCR."""
Resume = Callable[[PageImage], Awaitable["tuple[PageResult, PdfPart | None] | None"]]
"""``await resume(page)``: the page's result and PDF part as finished before, or None."""


def _locked(fn: Callable[..., T]) -> Callable[..., T]:
    def call(*args: Any) -> T:
        with PDFIUM:
            return fn(*args)

    return call


def _decoding(fn: Callable[..., T]) -> Callable[..., T]:
    """Decoder failures that escape the logic's typed errors (e.g. Pillow's TypeError on a
    truncated multi-page TIFF) are the input's fault: CorruptDocumentError, not a 500."""

    def call(*args: Any) -> T:
        try:
            return fn(*args)
        except OcrError:
            raise
        except (OSError, ValueError, TypeError, SyntaxError, EOFError, KeyError,
                IndexError) as exc:
            raise CorruptDocumentError(f"cannot decode the document: {exc}") from None

    return call


def inspect(data: bytes, options: OcrOptions) -> dict[str, Any]:
    """Cheap checks before any OCR: size, language, type, page count (against
    ``max_pages``), PDF encryption and text layer (``text_layer`` mode). Raises the typed
    errors of :mod:`actors.ocr.errors`; returns ``{"doc_type", "pages"}``."""
    check_size(data, options)
    check_languages(options.lang)
    doc_type = detect_type(data)
    with PDFIUM:
        pages = _decoding(count_pages)(data)
        if options.max_pages is not None and pages > options.max_pages:
            raise PageLimitError(f"document has {pages} pages, limit is {options.max_pages}")
        if doc_type is DocType.PDF:
            pages_to_ocr(data, options.text_layer)
    return {"doc_type": str(doc_type), "pages": pages}


async def ocr_document(data: bytes, options: OcrOptions, run: Runner,
                       on_page: PageHook, resume: Resume | None = None) -> DocumentResult:
    """OCR ``data`` like ``process_document``; ``on_page`` is awaited after every page.
    A page ``resume`` returns is taken as is instead of being recognised again."""
    started = time.perf_counter()
    doc_type = detect_type(data)
    is_pdf = doc_type is DocType.PDF
    render = await run(_locked(pages_to_ocr), data, options.text_layer) if is_pdf else None
    pages_iter: Iterator[PageImage] = iter_pages(data, options, render=render)
    advance = _decoding(_locked(next) if is_pdf else next)
    pages: list[PageResult] = []
    parts: list[PdfPart] = []
    try:
        while (page := await run(advance, pages_iter, None)) is not None:
            kept = await resume(page) if resume is not None else None
            if kept is None:
                result, part = await run(recognise_page, data, page, options)
            else:
                result, part = kept
            pages.append(result)
            if part is not None:
                parts.append(part)
            await on_page(page, result, part, kept is not None)
    finally:
        close = getattr(pages_iter, "close", None)  # a generator: release the open document
        if close is not None:
            await run(_locked(close) if is_pdf else close)
    return await run(assemble, doc_type, pages, parts, options, started)
