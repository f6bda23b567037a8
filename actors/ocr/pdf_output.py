"""Searchable PDF output: Tesseract's one-page PDFs (image + invisible text) merged with
pypdf, with pages kept from the original PDF where its text layer was kept."""

from __future__ import annotations

import io
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter

from actors.ocr.errors import OcrEngineError


@dataclass(frozen=True)
class OriginalPage:
    """Page ``index`` of the original PDF ``data``, copied unchanged."""

    data: bytes
    index: int


PdfPart = bytes | OriginalPage


def merge_pdfs(parts: list[PdfPart]) -> bytes:
    """One PDF with the pages of ``parts`` in order (each bytes part may have many pages)."""
    writer = PdfWriter()
    readers: dict[int, PdfReader] = {}
    try:
        for part in parts:
            if isinstance(part, OriginalPage):
                key = id(part.data)
                if key not in readers:
                    readers[key] = PdfReader(io.BytesIO(part.data))
                writer.add_page(readers[key].pages[part.index])
            else:
                for page in PdfReader(io.BytesIO(part)).pages:
                    writer.add_page(page)
        out = io.BytesIO()
        writer.write(out)
    except Exception as exc:  # pypdf raises many types for malformed PDFs
        raise OcrEngineError(f"cannot assemble the searchable PDF: {exc}") from exc
    return out.getvalue()
