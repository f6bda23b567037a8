"""Document OCR: OpenCV preprocessing + Tesseract, plain Python (no Ray).

Entry points: :func:`process_document` (bytes in, :class:`DocumentResult` out) and, for the
batch pipeline, :func:`iter_pages` + :func:`ocr_page`. Errors: see :mod:`actors.ocr.errors`.
"""

from actors.ocr.errors import (
    CorruptDocumentError,
    DocumentSizeError,
    EncryptedPdfError,
    EngineInterruptedError,
    InvalidOptionsError,
    OcrEngineError,
    OcrError,
    OcrInputError,
    OcrLimitError,
    PageLimitError,
    PageTimeoutError,
    PixelLimitError,
    PriorTextError,
    UnsupportedFormatError,
)
from actors.ocr.loading import (
    DocType,
    PageImage,
    check_limits,
    count_pages,
    detect_type,
    iter_pages,
)
from actors.ocr.models import DocumentResult, PageResult, Word
from actors.ocr.options import OcrOptions, PreprocessOptions, Strategy, TextLayerMode
from actors.ocr.pipeline import PageOutcome, ocr_page, process_document

__all__ = [
    "CorruptDocumentError",
    "DocType",
    "DocumentResult",
    "DocumentSizeError",
    "EncryptedPdfError",
    "EngineInterruptedError",
    "InvalidOptionsError",
    "OcrEngineError",
    "OcrError",
    "OcrInputError",
    "OcrLimitError",
    "OcrOptions",
    "PageImage",
    "PageLimitError",
    "PageOutcome",
    "PageResult",
    "PageTimeoutError",
    "PixelLimitError",
    "PreprocessOptions",
    "PriorTextError",
    "Strategy",
    "TextLayerMode",
    "UnsupportedFormatError",
    "Word",
    "check_limits",
    "count_pages",
    "detect_type",
    "iter_pages",
    "ocr_page",
    "process_document",
]
