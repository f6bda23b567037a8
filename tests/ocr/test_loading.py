"""Type detection, decoding, multi-page documents, PDF text layers and encryption, limits."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from actors.ocr import (
    CorruptDocumentError,
    DocType,
    DocumentSizeError,
    EncryptedPdfError,
    OcrOptions,
    PageImage,
    PageLimitError,
    PixelLimitError,
    PreprocessOptions,
    UnsupportedFormatError,
    count_pages,
    detect_type,
    iter_pages,
    process_document,
)
from actors.ocr.errors import InvalidOptionsError, OcrInputError
from actors.ocr.loading import (
    MIN_PDF_DPI,
    NATIVE_DPI_RANGE,
    page_content,
    pdf_render_dpi,
    pdf_text_layers,
)
from tests.ocr.helpers import encode, multipage, serialize_pdf, text_page, text_pdf


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


def test_damaged_png_is_corrupt_without_decoding() -> None:
    data = bytearray(encode(text_page(size=(400, 300), repeat=1), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 40] ^= 0xFF  # one byte of the compressed pixels: the chunk's CRC fails
    with pytest.raises(CorruptDocumentError, match="truncated or damaged"):
        list(iter_pages(bytes(data), OcrOptions()))


def test_jpeg_with_bytes_after_its_end_marker_is_accepted() -> None:
    data = encode(text_page(size=(400, 300), repeat=1), "JPEG") + b"trailing metadata\x00"
    page = next(iter_pages(data, OcrOptions()))
    assert page.image is not None and page.image.shape[:2] == (300, 400)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_single_page_file_is_decoded_only_when_its_pixels_are_needed(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = encode(text_page(size=(400, 300), repeat=1), fmt)
    page = next(iter_pages(data, OcrOptions()))
    assert page.has_image and (page.width, page.height) == (400, 300)
    assert page.encoded == data

    def no_decoding(_: bytes) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr("actors.ocr.loading._decode_single", no_decoding)
    # Plain Tesseract on the page as given reads the file itself: no decoding in Python.
    plain = OcrOptions(strategy="single", preprocess=PreprocessOptions.none())
    result = process_document(data, plain)
    assert "quick brown fox" in result.text and (result.pages[0].width, result.pages[0].height) == (
        400, 300)
    with pytest.raises(AssertionError, match="decoded"):
        process_document(data, OcrOptions())  # AUTO works on the pixels


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


# -- native resolution of scanned PDF pages ---------------------------------------------------


def scan_pdf(size_px: tuple[int, int], dpi: float, mode: str = "L") -> bytes:
    """A one-page PDF showing a ``size_px`` image over the whole page at ``dpi`` (Pillow)."""
    img = Image.new(mode, size_px, 255 if mode != "RGB" else (250, 240, 230))
    buf = io.BytesIO()
    img.save(buf, format="PDF", resolution=dpi)
    return buf.getvalue()


def placed_image_pdf(
    size_px: tuple[int, int],
    page_pt: tuple[float, float],
    cm: tuple[float, ...],
    *,
    form_cm: tuple[float, ...] | None = None,
    text: str | None = None,
) -> bytes:
    """A hand-made PDF: a gray ``size_px`` image drawn with matrix ``cm`` (page space, or
    the space of a form XObject whose /Matrix is ``form_cm``), optionally visible text."""
    width, height = size_px
    pixels = bytes(255 - (x + y) % 7 for y in range(height) for x in range(width))
    image = (f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
             f"/ColorSpace /DeviceGray /BitsPerComponent 8 /Length {len(pixels)} >>\n"
             "stream\n").encode() + pixels + b"\nendstream"
    draw = "q " + " ".join(f"{v:g}" for v in cm) + " cm /Im Do Q"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]
    xobjects = "/Im 5 0 R"
    if form_cm is not None:
        xobjects = "/Fm 6 0 R"
        form_body = draw.encode()
        draw = "/Fm Do"
    body = draw + (f" BT /F1 12 Tf 10 10 Td ({text}) Tj ET" if text else "")
    objects.append(
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_pt[0]:g} {page_pt[1]:g}] "
        f"/Contents 4 0 R /Resources << /XObject << {xobjects} >> "
        "/Font << /F1 7 0 R >> >> >>".encode())
    objects.append(f"<< /Length {len(body)} >>\nstream\n{body}\nendstream".encode())
    objects.append(image)
    if form_cm is not None:
        matrix = " ".join(f"{v:g}" for v in form_cm)
        objects.append(
            f"<< /Type /XObject /Subtype /Form /BBox [-10000 -10000 10000 10000] "
            f"/Matrix [{matrix}] /Resources << /XObject << /Im 5 0 R >> >> "
            f"/Length {len(form_body)} >>\nstream\n".encode() + form_body + b"\nendstream")
    else:
        objects.append(b"null")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return serialize_pdf(objects)


def only_page(data: bytes, options: OcrOptions | None = None) -> PageImage:
    pages = list(iter_pages(data, options or OcrOptions()))
    assert len(pages) == 1 and pages[0].image is not None
    return pages[0]


@pytest.mark.parametrize(("source_dpi", "render_dpi"), [(250, 250), (300, 300), (217.5, 217.5)])
def test_scanned_page_is_rendered_at_its_image_resolution(
    source_dpi: float, render_dpi: float
) -> None:
    page = only_page(scan_pdf((600, 400), source_dpi))
    assert page.dpi == pytest.approx(render_dpi)
    assert page.image is not None
    height, width = page.image.shape  # gray scan -> gray render
    assert abs(width - 600) <= 1 and abs(height - 400) <= 1  # pixel for pixel


@pytest.mark.parametrize(("source_dpi", "render_dpi"), [(72, NATIVE_DPI_RANGE[0]),
                                                        (1200, NATIVE_DPI_RANGE[1])])
def test_native_resolution_is_clamped(source_dpi: float, render_dpi: float) -> None:
    page = only_page(scan_pdf((600, 400), source_dpi))
    assert page.dpi == render_dpi
    assert page.image is not None
    assert abs(page.image.shape[1] - 600 * render_dpi / source_dpi) <= 1


def test_colour_scan_is_rendered_in_colour_and_bilevel_in_gray() -> None:
    rgb = only_page(scan_pdf((300, 200), 200, mode="RGB"))
    assert rgb.image is not None and rgb.image.shape == (200, 300, 3)
    assert tuple(rgb.image[100, 150]) == pytest.approx((250, 240, 230), abs=3)
    bilevel = only_page(scan_pdf((300, 200), 200, mode="1"))
    assert bilevel.image is not None and bilevel.image.shape == (200, 300)


def test_explicit_dpi_overrides_the_native_resolution() -> None:
    page = only_page(scan_pdf((600, 400), 250), OcrOptions(dpi=150))
    assert page.dpi == 150
    assert page.image is not None and abs(page.image.shape[1] - 360) <= 1
    # 300 asked for explicitly is honoured too (it is also the default of vector pages).
    assert only_page(scan_pdf((600, 400), 250), OcrOptions(dpi=300)).dpi == 300
    assert only_page(scan_pdf((600, 400), 250)).dpi == 250


def test_vector_page_uses_options_dpi() -> None:
    data = text_pdf(["born digital"])
    page = only_page(data, OcrOptions(text_layer="force"))
    assert page.dpi == 300
    assert page.image is not None and page.image.shape[:2] == (3300, 2550)
    with pdfium.PdfDocument(data) as pdf:
        content = page_content(pdf[0])
    assert content.native_dpi is None and content.vector and not content.gray


def test_rotated_image_resolution_is_measured_along_its_axes() -> None:
    # 400x200 px turned 90 degrees: its width runs up the page (4 in) -> 100 dpi, not
    # 400 px / 2 in = 200 dpi as a bounding-box ratio would say.
    data = placed_image_pdf((400, 200), (144, 288), (0, 288, -144, 0, 144, 0))
    with pdfium.PdfDocument(data) as pdf:
        content = page_content(pdf[0])
    assert content.native_dpi == pytest.approx(100)
    assert content.image_cover == pytest.approx(1.0)
    assert content.gray and not content.vector


def test_image_in_a_form_xobject_uses_the_form_matrix() -> None:
    # The image is drawn 1 x 0.5 in inside a form scaled by 2: 2 x 1 in on the page.
    data = placed_image_pdf((500, 250), (144, 72), (72, 0, 0, 36, 0, 0),
                            form_cm=(2, 0, 0, 2, 0, 0))
    with pdfium.PdfDocument(data) as pdf:
        content = page_content(pdf[0])
    assert content.native_dpi == pytest.approx(250)
    assert only_page(data).dpi == pytest.approx(250)


def test_small_images_do_not_set_the_resolution() -> None:
    # A 1 x 0.5 in logo at 600 dpi on a Letter page: no scan, DEFAULT_DPI applies.
    data = placed_image_pdf((600, 300), (612, 792), (72, 0, 0, 36, 72, 700))
    with pdfium.PdfDocument(data) as pdf:
        content = page_content(pdf[0])
    assert content.native_dpi is None
    assert pdf_render_dpi((612, 792), 0, OcrOptions(), native_dpi=content.native_dpi) == 300


def test_scan_with_visible_text_is_rendered_at_least_at_options_dpi() -> None:
    data = placed_image_pdf((400, 200), (288, 144), (288, 0, 0, 144, 0, 0), text="Hello")
    with pdfium.PdfDocument(data) as pdf:
        content = page_content(pdf[0])
    assert content.native_dpi == pytest.approx(100) and content.vector and not content.gray
    page = next(iter_pages(data, OcrOptions(text_layer="force")))
    assert page.dpi == 300


def test_native_resolution_still_obeys_the_pixel_limit() -> None:
    options = OcrOptions(max_pixels_per_page=4_000_000)
    # 10 x 10 in at a native 300 dpi = 9 Mpx: lowered to fit.
    dpi = pdf_render_dpi((720.0, 720.0), 0, options, native_dpi=300.0)
    assert dpi == 200 and (10 * dpi) ** 2 <= 4_000_000
    # 5 x 5 in at 300 dpi = 2.25 Mpx: kept.
    assert pdf_render_dpi((360.0, 360.0), 0, options, native_dpi=300.0) == 300
    with pytest.raises(PixelLimitError, match="even at 72 dpi"):
        pdf_render_dpi((2160.0, 2160.0), 0, options, native_dpi=300.0)  # 30 x 30 in
    # Through iter_pages: a 250 dpi scan of 600x400 px with a 100k pixel limit.
    page = only_page(scan_pdf((600, 400), 250), OcrOptions(max_pixels_per_page=100_000))
    assert page.dpi is not None and page.dpi < 250
    assert page.image is not None and page.image.size <= 100_000


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
