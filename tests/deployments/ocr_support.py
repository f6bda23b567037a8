"""Helpers of the OCR platform tests: small real and synthetic documents."""

from __future__ import annotations

import io

from pypdf import PdfWriter

from tests.ocr.helpers import encode, multipage, text_page


def two_page_tiff() -> bytes:
    """Two short pages of rendered text (fast to OCR)."""
    pages = [text_page([f"Invoice number {n} dated 2024-03-0{n}", "Total 12.50 EUR"],
                       size=(900, 200), font_size=28, top=40) for n in (1, 2)]
    return multipage(pages, "TIFF", dpi=(150, 150))


def tiny_tiff(pages: int) -> bytes:
    return multipage([text_page(["x"], size=(60, 40), font_size=12, top=5)] * pages, "TIFF")


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_page(lines: list[str]) -> bytes:
    return encode(text_page(lines, size=(900, 160), font_size=28, top=40), "PNG",
                  dpi=(150, 150))
