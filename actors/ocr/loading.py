"""Bytes -> pages: type detection from magic bytes, image decoding, PDF rendering.

Nothing here trusts a file name. Pages are produced lazily (one decoded page in memory at a
time) after the page count and pixel limits have been checked.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageSequence, UnidentifiedImageError

from actors.ocr.errors import (
    CorruptDocumentError,
    DocumentSizeError,
    EncryptedPdfError,
    PageLimitError,
    PixelLimitError,
    UnsupportedFormatError,
)
from actors.ocr.options import OcrOptions

MIN_PDF_DPI = 72


class DocType(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"
    PDF = "pdf"


def detect_type(data: bytes) -> DocType:
    """Detect the document type from its first bytes.

    Raises :class:`UnsupportedFormatError` for empty or unknown content.
    """
    if not data:
        raise UnsupportedFormatError("empty document")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocType.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return DocType.JPEG
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return DocType.TIFF
    # The PDF header may follow some junk bytes; readers accept it within the first 1 KiB.
    if b"%PDF-" in data[:1024]:
        return DocType.PDF
    raise UnsupportedFormatError(
        f"unsupported document type (first bytes {data[:8]!r}); expected PNG, JPEG, TIFF or PDF"
    )


@dataclass
class PageImage:
    """One page ready for OCR (or carrying an existing text layer)."""

    index: int  # 0-based
    image: np.ndarray | None  # uint8, HxW (gray) or HxWx3 (RGB); None when not rendered
    dpi: float | None  # known resolution, None when the file does not say
    text_layer: str | None = None  # text already in the PDF page, None if none
    text_visible: bool = False  # True when some of that text is visibly drawn
    encoded: bytes | None = None  # the source file when it is this single page as is


def check_size(data: bytes, options: OcrOptions) -> None:
    if options.max_bytes is not None and len(data) > options.max_bytes:
        raise DocumentSizeError(f"document has {len(data)} bytes, limit is {options.max_bytes}")


def check_limits(data: bytes, options: OcrOptions) -> DocType:
    """Size, type and page-count limits, checked without decoding any pixels."""
    check_size(data, options)
    kind = detect_type(data)
    _check_pages(count_pages(data), options)
    return kind


def count_pages(data: bytes) -> int:
    """Number of pages, without decoding any pixels."""
    kind = detect_type(data)
    if kind is DocType.PDF:
        with _open_pdf(data) as pdf:
            return len(pdf)
    with _open_image(data) as img:
        return int(getattr(img, "n_frames", 1))


def iter_pages(
    data: bytes, options: OcrOptions, *, render: set[int] | None = None
) -> Iterator[PageImage]:
    """Yield the pages of a document in order.

    ``render``: for PDFs, the page indexes to rasterise (``None`` = all); other pages carry
    only their text layer. Raises the typed errors of :mod:`actors.ocr.errors`.
    """
    check_size(data, options)
    kind = detect_type(data)
    if kind is DocType.PDF:
        yield from _iter_pdf(data, options, render)
    else:
        yield from _iter_image(data, options)


def pdf_text_layers(data: bytes) -> list[tuple[str | None, bool]]:
    """Per page of a PDF: (existing text or None, whether any of it is visible)."""
    with _open_pdf(data) as pdf:
        return [_text_layer(pdf[i]) for i in range(len(pdf))]


# -- images ---------------------------------------------------------------------------------


class _open_image:
    def __init__(self, data: bytes) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                self.img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PixelLimitError(f"image too large: {exc}") from None
        except UnidentifiedImageError:
            raise CorruptDocumentError(
                "cannot decode image: the header looks like an image but is not valid"
            ) from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise CorruptDocumentError(f"cannot decode image: {exc}") from None

    def __enter__(self) -> Image.Image:
        return self.img

    def __exit__(self, *exc: object) -> None:
        self.img.close()


def _iter_image(data: bytes, options: OcrOptions) -> Iterator[PageImage]:
    with _open_image(data) as img:
        n_frames = int(getattr(img, "n_frames", 1))
        _check_pages(n_frames, options)
        single = n_frames == 1 and img.format in ("PNG", "JPEG", "TIFF")
        try:
            for index, frame in enumerate(ImageSequence.Iterator(img)):
                _check_pixels(index, frame.width, frame.height, options)
                dpi = _image_dpi(frame)
                array = to_array(frame)
                yield PageImage(index=index, image=array, dpi=dpi,
                                encoded=data if single else None)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise CorruptDocumentError(f"cannot decode image page: {exc}") from None


def _image_dpi(img: Image.Image) -> float | None:
    dpi = img.info.get("dpi")
    if not dpi:
        return None
    try:
        value = float(dpi[0])
    except (TypeError, ValueError, IndexError):
        return None
    # 72/96 dpi are usually defaults written by software, not a scan resolution.
    if not math.isfinite(value) or value < 30 or value in (72.0, 96.0):
        return None
    return value


def to_array(img: Image.Image) -> np.ndarray:
    """PIL image of any mode -> uint8 gray (HxW) or RGB (HxWx3); alpha composited on white."""
    mode = img.mode
    if mode in ("1", "L"):
        return np.asarray(img.convert("L"), dtype=np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        return scaled.astype(np.uint8)
    if mode in ("LA", "RGBA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


# -- PDF ------------------------------------------------------------------------------------


class _open_pdf:
    def __init__(self, data: bytes) -> None:
        try:
            self.pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise EncryptedPdfError("PDF is encrypted (password protected)") from None
            raise CorruptDocumentError(f"cannot open PDF: {exc}") from None
        if pdfium_c.FPDF_GetSecurityHandlerRevision(self.pdf.raw) != -1:
            self.pdf.close()
            raise EncryptedPdfError("PDF is encrypted; decrypt it before OCR")

    def __enter__(self) -> pdfium.PdfDocument:
        return self.pdf

    def __exit__(self, *exc: object) -> None:
        self.pdf.close()


def _text_layer(page: pdfium.PdfPage) -> tuple[str | None, bool]:
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range().replace("\r\n", "\n").strip()
    finally:
        textpage.close()
    if not text:
        return None, False
    visible = any(
        pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw) != pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=8)
    )
    return text, visible


def _iter_pdf(data: bytes, options: OcrOptions, render: set[int] | None) -> Iterator[PageImage]:
    with _open_pdf(data) as pdf:
        n_pages = len(pdf)
        if n_pages == 0:
            raise CorruptDocumentError("PDF has no pages")
        _check_pages(n_pages, options)
        for index in range(n_pages):
            try:
                page = pdf[index]
                text, visible = _text_layer(page)
                image = None
                dpi: float | None = None
                if render is None or index in render:
                    dpi = pdf_render_dpi(page.get_size(), page.get_rotation(), options)
                    bitmap = page.render(scale=dpi / 72.0, grayscale=False)
                    image = np.array(bitmap.to_numpy()[:, :, :3][:, :, ::-1])  # BGR(x) -> RGB
                    bitmap.close()
                page.close()
            except pdfium.PdfiumError as exc:
                raise CorruptDocumentError(f"cannot render PDF page {index + 1}: {exc}") from None
            yield PageImage(index, image, dpi, text_layer=text, text_visible=visible)


def pdf_render_dpi(size_pt: tuple[float, float], rotation: int, options: OcrOptions) -> float:
    """The requested DPI, lowered when the page would exceed ``max_pixels_per_page``.

    Raises :class:`PixelLimitError` when even :data:`MIN_PDF_DPI` would be too large.
    """
    del rotation  # pixel count is rotation-invariant
    width_in, height_in = size_pt[0] / 72.0, size_pt[1] / 72.0
    dpi = float(options.dpi)
    limit = options.max_pixels_per_page
    if limit is not None and width_in * height_in * dpi * dpi > limit:
        dpi = math.floor(math.sqrt(limit / (width_in * height_in)))
        if dpi < MIN_PDF_DPI:
            raise PixelLimitError(
                f"PDF page of {width_in:.0f}x{height_in:.0f} in exceeds "
                f"{limit} pixels even at {MIN_PDF_DPI} dpi"
            )
    return dpi


def _check_pages(n_pages: int, options: OcrOptions) -> None:
    if options.max_pages is not None and n_pages > options.max_pages:
        raise PageLimitError(f"document has {n_pages} pages, limit is {options.max_pages}")


def _check_pixels(index: int, width: int, height: int, options: OcrOptions) -> None:
    limit = options.max_pixels_per_page
    if width <= 0 or height <= 0:
        raise CorruptDocumentError(f"page {index + 1} has no pixels ({width}x{height})")
    if limit is not None and width * height > limit:
        raise PixelLimitError(
            f"page {index + 1} has {width}x{height} = {width * height} pixels, limit is {limit}"
        )
