"""The OCR service's errors and their HTTP statuses: the typed input errors of
:mod:`actors.ocr.errors` and :class:`UnknownDocumentError`. Tesseract failing is a 502."""

from __future__ import annotations

from actors.ocr.errors import (
    CorruptDocumentError,
    EncryptedPdfError,
    InvalidOptionsError,
    OcrEngineError,
    OcrError,
    OcrLimitError,
    PageTimeoutError,
    PriorTextError,
    UnsupportedFormatError,
)
from deployments.status import JOB_ERRORS, ErrorTable, Status


class UnknownDocumentError(LookupError):
    """No such document (or page, or file), or it belongs to someone else."""


OCR_ERRORS: ErrorTable = {
    LookupError: Status(404),
    OcrError: Status(400),
    CorruptDocumentError: Status(400),
    UnsupportedFormatError: Status(415),
    OcrLimitError: Status(413),  # pages, pixels, bytes
    PageTimeoutError: Status(422),
    InvalidOptionsError: Status(422),
    EncryptedPdfError: Status(422),
    PriorTextError: Status(422),
    OcrEngineError: Status(502),
    **JOB_ERRORS,
}
