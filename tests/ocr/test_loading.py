"""Type detection, decoding, multi-page documents, PDF text layers and encryption, limits."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from actors.ocr import (
    CorruptDocumentError,
    DocType,
    DocumentSizeError,
    EncryptedPdfError,
    OcrOptions,
    PageLimitError,
    PixelLimitError,
    UnsupportedFormatError,
    count_pages,
    detect_type,
    iter_pages,
)
from actors.ocr.errors import InvalidOptionsError, OcrInputError
from actors.ocr.loading import MIN_PDF_DPI, pdf_render_dpi, pdf_text_layers
from tests.ocr.helpers import encode, multipage, text_page, text_pdf


def small(color: int = 255, size: tuple[int, int] = (60, 40)) -> Image.Image:
    return Image.new("L", size, color)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PNG", DocType.PNG), ("JPEG", DocType.JPEG), ("TIFF", DocType.TIFF), ("PDF", DocType.PDF)],
)
def test_detect_type_from_content(fmt: str, expected: DocType) -> None:
    assert detect_type(encode(small(), fmt)) is expected


def test_detect_type_big_endian_tiff_and_pdf_after_junk() -> None:
    assert detect_type(b"MM\x00*" + b"\x00" * 20) is DocType.TIFF
    assert detect_type(b"\r\n  junk\n%PDF-1.7\n") is DocType.PDF


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"hello world", b"PK\x03\x04zip"])
def test_unknown_content_is_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedFormatError):
        detect_type(data)
    with pytest.raises(OcrInputError):
        list(iter_pages(data, OcrOptions()))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_truncated_image_is_corrupt(fmt: str) -> None:
    data = encode(text_page(size=(400, 300), repeat=1), fmt)
    with pytest.raises(CorruptDocumentError):
        list(iter_pages(data[: len(data) // 3], OcrOptions()))


def test_corrupt_pdf() -> None:
    with pytest.raises(CorruptDocumentError):
        list(iter_pages(b"%PDF-1.4\n garbage without objects", OcrOptions()))


def test_multipage_tiff_yields_every_frame() -> None:
    frames = [small(0), small(128), small(255)]
    data = multipage(frames, "TIFF")
    assert count_pages(data) == 3
    pages = list(iter_pages(data, OcrOptions()))
    assert [p.index for p in pages] == [0, 1, 2]
    assert [int(p.image.mean()) for p in pages if p.image is not None] == [0, 128, 255]


def test_multipage_pdf_is_rendered_at_the_chosen_dpi() -> None:
    data = text_pdf(["first page", None, "third"])
    pages = list(iter_pages(data, OcrOptions(dpi=100, text_layer="force")))
    assert len(pages) == 3
    assert all(p.image is not None and p.image.shape[:2] == (1100, 850) for p in pages)
    assert pages[0].text_layer == "first page" and pages[1].text_layer is None


def test_image_modes_are_normalised() -> None:
    rgba = Image.new("RGBA", (30, 20), (0, 0, 0, 0))  # fully transparent -> white
    page = next(iter_pages(encode(rgba, "PNG"), OcrOptions()))
    assert page.image is not None and page.image.shape == (20, 30, 3)
    assert page.image.min() == 255
    one_bit = Image.new("1", (30, 20), 0)
    page = next(iter_pages(encode(one_bit, "TIFF"), OcrOptions()))
    assert page.image is not None and page.image.ndim == 2 and page.image.max() == 0


def test_text_layer_detection_visible_and_invisible() -> None:
    assert pdf_text_layers(text_pdf(["Hello", None])) == [("Hello", True), (None, False)]
    assert pdf_text_layers(text_pdf(["Hidden OCR"], invisible=True)) == [("Hidden OCR", False)]


def _encrypt(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(data)).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("user_password", ["s3cret", ""])
def test_encrypted_pdf_is_refused(user_password: str) -> None:
    data = _encrypt(text_pdf([None]), user_password)
    with pytest.raises(EncryptedPdfError):
        list(iter_pages(data, OcrOptions()))
    with pytest.raises(EncryptedPdfError):
        count_pages(data)


def test_page_limit() -> None:
    data = multipage([small(), small(), small()], "TIFF")
    with pytest.raises(PageLimitError, match="3 pages"):
        list(iter_pages(data, OcrOptions(max_pages=2)))
    with pytest.raises(PageLimitError):
        list(iter_pages(text_pdf([None, None, None]), OcrOptions(max_pages=2)))
    assert len(list(iter_pages(data, OcrOptions(max_pages=3)))) == 3


def test_pixel_limit_for_images() -> None:
    data = encode(small(size=(200, 100)), "PNG")
    with pytest.raises(PixelLimitError, match="20000 pixels"):
        list(iter_pages(data, OcrOptions(max_pixels_per_page=19_999)))
    assert len(list(iter_pages(data, OcrOptions(max_pixels_per_page=20_000)))) == 1


def test_pdf_pages_are_rendered_smaller_to_fit_the_pixel_limit() -> None:
    options = OcrOptions(dpi=300, max_pixels_per_page=10_000_000)
    dpi = pdf_render_dpi((612.0, 792.0), 0, options)  # Letter at 300 dpi = 8.4 Mpx: fits
    assert dpi == 300
    dpi = pdf_render_dpi((2160.0, 2160.0), 0, options)  # 30 x 30 in: lowered
    assert MIN_PDF_DPI <= dpi < 300 and (30 * dpi) ** 2 <= 10_000_000
    with pytest.raises(PixelLimitError):
        pdf_render_dpi((14400.0, 14400.0), 0, options)  # 200 x 200 in, even at 72 dpi


def test_size_limit() -> None:
    data = encode(small(), "PNG")
    with pytest.raises(DocumentSizeError):
        list(iter_pages(data, OcrOptions(max_bytes=len(data) - 1)))


@pytest.mark.parametrize(
    "kwargs",
    [{"psm": 2}, {"psm": 14}, {"lang": "eng; rm -rf"}, {"dpi": 10}, {"max_pages": 0},
     {"text_layer": "sometimes"}, {"strategy": "magic"}],
)
def test_invalid_options(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionsError):
        OcrOptions(**kwargs)  # type: ignore[arg-type]


def test_options_round_trip_and_unknown_keys() -> None:
    options = OcrOptions(lang="eng", psm=6, text_layer="skip", processors=("receipt",))
    data = options.to_dict()
    assert OcrOptions.from_dict(data) == options
    with pytest.raises(InvalidOptionsError):
        OcrOptions.from_dict({"colour": "blue"})
    with pytest.raises(InvalidOptionsError):
        OcrOptions.from_dict({"preprocess": {"sharpen": True}})
