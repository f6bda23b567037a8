"""Typed errors of the OCR logic.

Every refusal of bad input is an :class:`OcrInputError` (map it to HTTP 4xx); an
:class:`OcrLimitError` is a refusal because a configured limit was exceeded (HTTP 413/422);
:class:`OcrEngineError` means Tesseract itself failed (HTTP 5xx); its
:class:`EngineInterruptedError` means the Tesseract process was killed by a signal, which
says nothing about the page: retry it, never record it as the page's result.
"""

from __future__ import annotations


class OcrError(Exception):
    """Base of every error raised by ``actors.ocr``."""


class OcrInputError(OcrError):
    """The document cannot be processed as given (client error)."""


class UnsupportedFormatError(OcrInputError):
    """The bytes are not PNG, JPEG, TIFF or PDF (detected from content, not name)."""


class CorruptDocumentError(OcrInputError):
    """The bytes look like a supported format but cannot be decoded."""


class EncryptedPdfError(OcrInputError):
    """The PDF is encrypted (password protected); it is refused, never cracked."""


class PriorTextError(OcrInputError):
    """The PDF already has a text layer and ``text_layer`` mode is ``error`` (the default).

    Choose ``skip`` (keep the existing text of those pages), ``redo`` or ``force`` (OCR anyway).
    """


class InvalidOptionsError(OcrInputError):
    """An option has an invalid value (unknown language, PSM out of range, ...)."""


class OcrLimitError(OcrInputError):
    """A configured limit was exceeded."""


class PageLimitError(OcrLimitError):
    """The document has more pages than ``max_pages``."""


class PixelLimitError(OcrLimitError):
    """A page has more pixels than ``max_pixels_per_page``."""


class DocumentSizeError(OcrLimitError):
    """The document has more bytes than ``max_bytes``."""


class PageTimeoutError(OcrLimitError):
    """Tesseract did not finish a page within ``page_timeout_s``."""


class OcrEngineError(OcrError):
    """Tesseract failed or is not installed (server error)."""


class EngineInterruptedError(OcrEngineError):
    """The Tesseract process was killed by a signal (SIGKILL, SIGTERM, ...): the run was
    interrupted (a job stopped, the OOM killer), the page did not fail. Retried; never
    recorded as the page's result."""
