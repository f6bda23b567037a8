"""Bytes -> pages: type detection from magic bytes, image decoding, PDF rendering.

Nothing here trusts a file name. Pages are produced lazily (one decoded page in memory at a
time) after the page count and pixel limits have been checked.

PDF render resolution (:func:`pdf_render_dpi`), like OCRmyPDF: a scanned page (its images
cover a good part of it) is rendered at the native resolution of its images, clamped to
:data:`NATIVE_DPI_RANGE` (no upsampling of a 300 dpi scan to something else, no 1440 dpi
render of a fax-size thumbnail); a page with vector content (visible text, paths) or without
a large image at :data:`DEFAULT_DPI` (at least). An ``options.dpi`` that is set is an explicit
request and used for every page. ``max_pixels_per_page`` lowers either.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Iterator
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
# Scanned PDF pages are rendered at their images' resolution, clamped to this range. Below
# ~200 dpi small print has an x-height under ~14 px and Tesseract's layout analysis gets
# erratic (a 72 dpi page of data/ocr rendered at 150 dpi lost a third of its text; at 200
# or 300 dpi it is read whole); above 400 dpi only the pixel count grows.
NATIVE_DPI_RANGE = (200.0, 400.0)
# An image counts for the native resolution when it covers at least this share of the page.
MIN_IMAGE_COVER = 0.1
# Pages without a native resolution (vector content, small images) when ``OcrOptions.dpi``
# is None; with it set, that resolution applies to every page.
DEFAULT_DPI = 300.0
_GRAY_COLORSPACES = (pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_CALGRAY)


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


class PageImage:
    """One page ready for OCR (or carrying an existing text layer).

    ``image``: uint8 HxW (gray) or HxWx3 (RGB); None when the page was not rendered (a PDF
    page whose text layer is kept). A page of an image file is decoded on the first access
    of ``image`` (``decode``; raises :class:`CorruptDocumentError`), so a page Tesseract
    reads straight from ``encoded`` is never decoded in Python. ``has_image``, ``width``
    and ``height`` never decode.
    """

    def __init__(
        self,
        index: int,
        image: np.ndarray | None = None,
        dpi: float | None = None,
        *,
        text_layer: str | None = None,
        text_visible: bool = False,
        encoded: bytes | None = None,
        decode: Callable[[], np.ndarray] | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.index = index  # 0-based
        self.dpi = dpi  # known resolution, None when the file does not say
        self.text_layer = text_layer  # text already in the PDF page, None if none
        self.text_visible = text_visible  # True when some of that text is visibly drawn
        self.encoded = encoded  # the source file when it is this single page as is
        self._image = image
        self._decode = decode
        self._size = size if image is None else (int(image.shape[1]), int(image.shape[0]))

    @property
    def image(self) -> np.ndarray | None:
        if self._image is None and self._decode is not None:
            self._image = self._decode()
            self._decode = None
        return self._image

    @property
    def has_image(self) -> bool:
        return self._image is not None or self._decode is not None

    @property
    def width(self) -> int:
        return self._size[0] if self._size else 0

    @property
    def height(self) -> int:
        return self._size[1] if self._size else 0


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
        if n_frames == 1 and img.format in ("PNG", "JPEG", "TIFF"):
            # One page, the file as is: checked for completeness (no pixels decoded) and
            # decoded only when something needs the pixels.
            _check_pixels(0, img.width, img.height, options)
            _check_complete(data, img)
            yield PageImage(0, dpi=_image_dpi(img), encoded=data, size=img.size,
                            decode=lambda: _decode_single(data))
            return
        try:
            for index, frame in enumerate(ImageSequence.Iterator(img)):
                _check_pixels(index, frame.width, frame.height, options)
                yield PageImage(index, to_array(frame), _image_dpi(frame))
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise CorruptDocumentError(f"cannot decode image page: {exc}") from None


def _decode_single(data: bytes) -> np.ndarray:
    with _open_image(data) as img:
        try:
            return to_array(img)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise CorruptDocumentError(f"cannot decode image page: {exc}") from None


def _check_complete(data: bytes, img: Image.Image) -> None:
    """Refuse a truncated single-page file without decoding its pixels: a PNG's chunks
    (CRCs up to IEND), a JPEG's end-of-image marker after its last scan, a TIFF's strips or
    tiles within the file."""
    problem: str | None = None
    if img.format == "PNG":
        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            problem = str(exc) or type(exc).__name__
    elif img.format == "JPEG":
        if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
            problem = "no end-of-image marker after the last scan"
    elif img.format == "TIFF":
        tags = getattr(img, "tag_v2", {})
        offsets = tags.get(273) or tags.get(324) or ()
        counts = tags.get(279) or tags.get(325) or ()
        if not offsets or len(offsets) != len(counts):
            problem = "no strip or tile table"
        elif max(o + c for o, c in zip(offsets, counts, strict=True)) > len(data):
            problem = "image data runs past the end of the file"
    if problem:
        raise CorruptDocumentError(f"cannot decode image: truncated or damaged ({problem})")


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
                    content = page_content(page)
                    dpi = pdf_render_dpi(page.get_size(), page.get_rotation(), options,
                                         native_dpi=content.native_dpi, vector=content.vector)
                    image = _render(page, dpi, gray=content.gray)
                page.close()
            except pdfium.PdfiumError as exc:
                raise CorruptDocumentError(f"cannot render PDF page {index + 1}: {exc}") from None
            yield PageImage(index, image, dpi, text_layer=text, text_visible=visible)


def _render(page: pdfium.PdfPage, dpi: float, *, gray: bool) -> np.ndarray:
    """The page at ``dpi``: HxW gray when ``gray`` (nothing in colour is lost), else RGB."""
    # The bitmap size is ceil(points * scale): without the nudge, 792 pt * 300/72 comes out
    # as 3300.0000000000005 -> 3301 rows, and a 3300-row scan would be stretched by a row.
    scale = dpi / 72.0 * (1.0 - 1e-12)
    if gray:
        bitmap = page.render(scale=scale, grayscale=True,
                             force_bitmap_format=pdfium_c.FPDFBitmap_Gray)
        array = np.array(bitmap.to_numpy().reshape(bitmap.height, bitmap.width))
    else:
        bitmap = page.render(scale=scale, grayscale=False)
        array = np.array(bitmap.to_numpy()[:, :, :3][:, :, ::-1])  # BGR(x) -> RGB
    bitmap.close()
    return array


@dataclass(frozen=True)
class PageContent:
    """What a PDF page draws, as far as its render resolution is concerned."""

    native_dpi: float | None  # highest resolution of the images covering >= MIN_IMAGE_COVER
    image_cover: float  # share of the page covered by those images (0..1, overlaps added)
    vector: bool  # visible text or path objects
    gray: bool  # only grayscale/bilevel images and no vector content: gray render loses nothing


def page_content(page: pdfium.PdfPage) -> PageContent:
    """Images (pixel size vs placement, in form XObjects too), visible text and paths."""
    width_pt, height_pt = page.get_size()
    page_area = max(width_pt * height_pt, 1e-6)
    vector = False
    gray = True
    best: float | None = None
    cover = 0.0
    kinds = [pdfium_c.FPDF_PAGEOBJ_TEXT, pdfium_c.FPDF_PAGEOBJ_PATH,
             pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_SHADING]
    for obj in page.get_objects(filter=kinds, max_depth=8):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
            if (pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
                    != pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE):
                vector = True
            continue
        if obj.type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
            vector = True
            continue
        assert isinstance(obj, pdfium.PdfImage)
        width_px, height_px = obj.get_px_size()
        a, b, c, d = _page_matrix(obj)
        span_x, span_y = math.hypot(a, b) / 72.0, math.hypot(c, d) / 72.0  # inches
        gray = gray and _is_gray(obj)
        if width_px <= 0 or height_px <= 0 or span_x <= 0 or span_y <= 0:
            continue
        share = abs(a * d - b * c) / page_area
        if share < MIN_IMAGE_COVER:
            continue
        cover += share
        dpi = max(width_px / span_x, height_px / span_y)
        best = dpi if best is None else max(best, dpi)
    return PageContent(native_dpi=best, image_cover=min(cover, 1.0), vector=vector,
                       gray=gray and not vector and best is not None)


def _page_matrix(obj: pdfium.PdfObject) -> tuple[float, float, float, float]:
    """The linear part of the object's matrix in page space (form XObject matrices applied)."""
    matrix = obj.get_matrix()
    container = obj.container
    while container is not None:
        matrix = matrix.multiply(container.get_matrix())
        container = container.container
    return matrix.a, matrix.b, matrix.c, matrix.d


def _is_gray(image: pdfium.PdfImage) -> bool:
    try:
        meta = image.get_metadata()
    except pdfium.PdfiumError:
        return False
    if meta.colorspace in _GRAY_COLORSPACES:
        return True
    # One component: ICC-based gray, or an image mask (no colour space, 1 bit).
    if meta.colorspace == pdfium_c.FPDF_COLORSPACE_ICCBASED:
        return 0 < meta.bits_per_pixel <= 8
    return meta.colorspace == pdfium_c.FPDF_COLORSPACE_UNKNOWN and meta.bits_per_pixel == 1


def pdf_render_dpi(
    size_pt: tuple[float, float],
    rotation: int,
    options: OcrOptions,
    *,
    native_dpi: float | None = None,
    vector: bool = False,
) -> float:
    """The resolution to render a PDF page of ``size_pt`` at.

    ``native_dpi`` (the page's image resolution, see :func:`page_content`) clamped to
    :data:`NATIVE_DPI_RANGE`, at least :data:`DEFAULT_DPI` when the page has ``vector``
    content; :data:`DEFAULT_DPI` for pages without a native resolution; ``options.dpi`` for
    every page when it is set. Then lowered when the page would exceed ``max_pixels_per_page``;
    raises :class:`PixelLimitError` when even :data:`MIN_PDF_DPI` would be too large.
    """
    del rotation  # pixel count is rotation-invariant
    width_in, height_in = size_pt[0] / 72.0, size_pt[1] / 72.0
    dpi = float(options.dpi if options.dpi is not None else DEFAULT_DPI)
    if native_dpi is not None and options.dpi is None:
        low, high = NATIVE_DPI_RANGE
        native = round(min(max(native_dpi, low), high), 2)
        dpi = max(native, dpi) if vector else native
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
