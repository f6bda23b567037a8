"""One document, page by page, off the event loop, with a callback after every page.

This is :func:`actors.ocr.process_document` unrolled over the same building blocks
(`iter_pages`, `ocr_page`, `text_layer_page`, processors, PDF merge) so that the service can
publish progress, keep page images and interleave the pages of several documents on its
bounded thread pool; ``tests/deployments/test_ocr_service.py`` checks that both give the
same text. (A per-page hook in ``process_document`` would let this module go away.)

pdfium is not thread-safe: every call that opens or renders a PDF holds :data:`PDFIUM`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from actors.ocr.errors import CorruptDocumentError, OcrEngineError, OcrError, PageLimitError
from actors.ocr.loading import DocType, PageImage, check_size, count_pages, detect_type, iter_pages
from actors.ocr.models import DocumentResult, PageResult
from actors.ocr.options import OcrOptions
from actors.ocr.pdf_output import OriginalPage, PdfPart, merge_pdfs
from actors.ocr.pipeline import ocr_page, pages_to_ocr, text_layer_page
from actors.ocr.processors import ProcessorInput, run_processors
from actors.ocr.recognize import check_languages

PDFIUM = threading.Lock()
T = TypeVar("T")
Runner = Callable[..., Awaitable[Any]]
"""``await run(fn, *args)``: ``fn(*args)`` on the service's thread pool."""
PageHook = Callable[[PageImage, PageResult], Awaitable[None]]


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
                       on_page: PageHook) -> DocumentResult:
    """OCR ``data`` like ``process_document``; ``on_page`` is awaited after every page."""
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
            if page.image is None:
                result = text_layer_page(page)
                parts.append(OriginalPage(data, page.index))
            else:
                outcome = await run(ocr_page, page, options)
                result = outcome.result
                if options.pdf:
                    if outcome.pdf is None:
                        raise OcrEngineError(f"tesseract produced no PDF for page {page.index + 1}")
                    parts.append(outcome.pdf)
            pages.append(result)
            await on_page(page, result)
    finally:
        close = getattr(pages_iter, "close", None)  # a generator: release the open document
        if close is not None:
            await run(_locked(close) if is_pdf else close)
    timings = {"ocr": round(time.perf_counter() - started, 3)}
    t0 = time.perf_counter()
    text_input = ProcessorInput(text="\n\n".join(p.text for p in pages),
                                pages=[p.text for p in pages])
    fields = await run(run_processors, text_input, options.processors)
    timings["processors"] = round(time.perf_counter() - t0, 3)
    merged = await run(merge_pdfs, parts) if options.pdf else None
    timings["total"] = round(time.perf_counter() - started, 3)
    return DocumentResult(doc_type=str(doc_type), pages=pages, fields=fields, timings=timings,
                          pdf=merged)
