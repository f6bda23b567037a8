"""End-to-end OCR of synthetic documents: text, words and boxes, orientation, outputs,
PDF text-layer modes, limits and options errors."""

from __future__ import annotations

import io
import time
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from actors.ocr import (
    InvalidOptionsError,
    OcrOptions,
    PageLimitError,
    PageTimeoutError,
    PreprocessOptions,
    PriorTextError,
    Strategy,
    TextLayerMode,
    process_document,
)
from actors.ocr.loading import PageImage
from actors.ocr.pipeline import (
    choose,
    layout_psm,
    original,
    ready_page,
    recognize_variants,
    run_variant,
)
from actors.ocr.recognize import detect_orientation
from tests.ocr.helpers import SENTENCES, encode, multipage, text_page, text_pdf, words_of

EXPECTED = words_of(" ".join(SENTENCES))


def recall(text: str) -> float:
    return len(EXPECTED & words_of(text)) / len(EXPECTED)


@pytest.fixture(scope="module")
def page_png() -> bytes:
    return encode(text_page(), "PNG", dpi=(150, 150))


@pytest.fixture(scope="module")
def result_with_outputs(page_png: bytes):  # type: ignore[no-untyped-def]
    return process_document(page_png, OcrOptions(hocr=True, pdf=True))


def test_plain_page_text_words_and_confidence(result_with_outputs) -> None:  # type: ignore[no-untyped-def]
    result = result_with_outputs
    assert result.doc_type == "png" and len(result.pages) == 1
    page = result.pages[0]
    assert recall(result.text) > 0.9
    assert page.mean_confidence > 80 and page.variant == "original"
    assert page.words and all(0 <= w.confidence <= 100 for w in page.words)
    data = result.to_dict()
    assert data["pages"][0]["words"][0]["text"] and "timings" in data
    assert result.to_json()


def test_word_boxes_are_in_page_coordinates(result_with_outputs) -> None:  # type: ignore[no-untyped-def]
    page = result_with_outputs.pages[0]
    # The first line is drawn from x=100, y=120 (30 px font) on the 1275x1650 page.
    first = next(w for w in page.words if w.text == "The")
    assert 90 <= first.left <= 110 and 110 <= first.top <= 135
    assert all(w.left >= 0 and w.left + w.width <= page.width for w in page.words)


def test_hocr_and_searchable_pdf(result_with_outputs) -> None:  # type: ignore[no-untyped-def]
    result = result_with_outputs
    assert "ocrx_word" in (result.pages[0].hocr or "")
    assert result.pdf is not None
    reader = PdfReader(io.BytesIO(result.pdf))
    assert len(reader.pages) == 1
    assert recall(reader.pages[0].extract_text()) > 0.8


ROTATION_ONLY = PreprocessOptions(border_removal=False, denoise=False, clahe=False,
                                  contrast=False, binarize=False)


def upright_page() -> Image.Image:
    return text_page(SENTENCES * 2, size=(1000, 800), font_size=30, top=40)


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_rotated_page_is_turned_upright(clockwise: int) -> None:
    turned = upright_page().rotate(-clockwise, expand=True)  # PIL turns counter-clockwise
    page = PageImage(0, np.asarray(turned), 300.0)
    osd = detect_orientation(page.image)  # type: ignore[arg-type]
    assert osd is not None and osd.rotate == (360 - clockwise) % 360
    variants = recognize_variants(page, OcrOptions(preprocess=ROTATION_ONLY))
    best = choose(variants)
    assert best.recognition is not None and recall(best.recognition.text) > 0.9
    if clockwise == 180:  # Tesseract reads 90/270-degree pages by itself; 180 it cannot.
        assert best.rotation == 180 and variants[0].recognition is not None
        assert recall(variants[0].recognition.text) < 0.5


def test_single_strategy_uses_osd_only_above_threshold() -> None:
    data = encode(upright_page().rotate(180), "PNG", dpi=(300, 300))
    base = PreprocessOptions.none()
    trusting = OcrOptions(strategy=Strategy.SINGLE,
                          preprocess=replace(base, orientation=True, osd_min_confidence=0.0))
    distrusting = OcrOptions(strategy=Strategy.SINGLE,
                             preprocess=replace(base, orientation=True, osd_min_confidence=1e9))
    good = process_document(data, trusting).pages[0]
    bad = process_document(data, distrusting).pages[0]
    assert good.rotation == 180 and recall(good.text) > 0.9
    assert bad.rotation == 0 and recall(bad.text) < 0.5


def test_multipage_tiff_and_pdf_output_merge() -> None:
    pages = [text_page(SENTENCES[:3]), text_page(SENTENCES[3:])]
    data = multipage(pages, "TIFF", dpi=(150, 150))
    result = process_document(data, OcrOptions(pdf=True, strategy=Strategy.SINGLE,
                                               preprocess=PreprocessOptions.none()))
    assert [p.page for p in result.pages] == [1, 2]
    assert "quick brown fox" in result.pages[0].text and "zebras" in result.pages[1].text
    assert result.pdf is not None and len(PdfReader(io.BytesIO(result.pdf)).pages) == 2


class TestTextLayerModes:
    visible = text_pdf(["Invoice total is 42.00 dollars", None])
    invisible = text_pdf(["stale hidden words"], invisible=True)
    fast = {"strategy": Strategy.SINGLE, "preprocess": PreprocessOptions.none(), "dpi": 100}

    def test_default_refuses_prior_text(self) -> None:
        with pytest.raises(PriorTextError, match="page\\(s\\) 1"):
            process_document(self.visible, OcrOptions(**self.fast))  # type: ignore[arg-type]

    def test_skip_keeps_existing_text_and_ocrs_the_rest(self) -> None:
        options = OcrOptions(text_layer=TextLayerMode.SKIP, pdf=True, **self.fast)  # type: ignore[arg-type]
        result = process_document(self.visible, options)
        assert [p.source for p in result.pages] == ["text_layer", "ocr"]
        assert result.pages[0].text == "Invoice total is 42.00 dollars"
        assert result.pdf is not None and len(PdfReader(io.BytesIO(result.pdf)).pages) == 2

    def test_redo_replaces_invisible_text_keeps_visible(self) -> None:
        options = OcrOptions(text_layer=TextLayerMode.REDO, **self.fast)  # type: ignore[arg-type]
        redone = process_document(self.invisible, options)
        assert redone.pages[0].source == "ocr" and "stale" not in redone.pages[0].text
        kept = process_document(self.visible, options)
        assert kept.pages[0].source == "text_layer"

    def test_force_ocrs_everything(self) -> None:
        options = OcrOptions(text_layer=TextLayerMode.FORCE, **self.fast)  # type: ignore[arg-type]
        result = process_document(self.visible, options)
        assert [p.source for p in result.pages] == ["ocr", "ocr"]
        assert "total" in result.pages[0].text.lower()


def test_page_timeout_is_a_typed_error(page_png: bytes) -> None:
    with pytest.raises(PageTimeoutError):
        process_document(page_png, OcrOptions(page_timeout_s=0.01))


def test_unknown_language_and_processor_are_refused(page_png: bytes) -> None:
    with pytest.raises(InvalidOptionsError, match="not installed"):
        process_document(page_png, OcrOptions(lang="klingon"))
    with pytest.raises(InvalidOptionsError, match="unknown processors"):
        process_document(page_png, OcrOptions(processors=("horoscope",),
                                              strategy=Strategy.SINGLE,
                                              preprocess=PreprocessOptions.none()))


def test_blank_page_gives_empty_text() -> None:
    data = encode(Image.new("L", (600, 800), 255), "PNG")
    result = process_document(data, OcrOptions(strategy=Strategy.SINGLE))
    assert result.text.strip() == "" and result.pages[0].words == []


def test_limits_are_checked_before_any_ocr() -> None:
    pages = [text_page(SENTENCES[:1], size=(300, 100), top=10)] * 3
    data = multipage(pages, "TIFF")
    started = time.perf_counter()
    with pytest.raises(PageLimitError):
        process_document(data, OcrOptions(max_pages=2))
    with pytest.raises(PageLimitError):
        process_document(text_pdf(["a", "b", "c"]), OcrOptions(max_pages=2))
    assert time.perf_counter() - started < 5  # refused up front, nothing was OCRed


def test_skewed_page_is_read_straightened() -> None:
    skewed = upright_page().rotate(8, expand=True, fillcolor=255,
                                   resample=Image.Resampling.BICUBIC)
    page = PageImage(0, np.asarray(skewed), 300.0)
    variants = recognize_variants(page, OcrOptions(preprocess=ROTATION_ONLY))
    best = choose(variants)
    assert abs(best.skew - 8) < 0.5
    assert best.recognition is not None and recall(best.recognition.text) > 0.9


RECEIPT_LINES = ["GARDENIA BAKERIES SDN BHD", "LOT 3, JALAN PELABUR 23/1", "TAX INVOICE",
                 "DATE: 05/08/2017 11:00", "WHITE BREAD 2 4.26", "WHOLEMEAL 1 2.78",
                 "TOTAL PAYABLE: 19.31", "CASH 50.00", "CHANGE 30.69",
                 "THANK YOU PLEASE COME AGAIN"]


def test_text_size_and_layout_signals() -> None:
    page = PageImage(0, np.asarray(text_page(RECEIPT_LINES, size=(560, 900), font_size=22,
                                             top=30)), None)
    options = OcrOptions()
    first = run_variant(original(page, options.preprocess), options)
    assert first.text_height is not None and 12 <= first.text_height <= 24
    assert first.text_width is not None and first.text_width <= 32
    assert first.line_chars >= 10
    assert layout_psm(first, options) == 6  # a narrow column of lines: one block
    assert layout_psm(first, options.with_(psm=4)) is None  # a psm asked for is kept
    ready = ready_page(page, options, first)
    assert ready.psm == 6
    # Rescaled so that the words are about target_text_px high.
    scale = ready.matrix[0, 0]
    assert abs(first.text_height * scale - options.preprocess.target_text_px) < 3
    # A page of prose lines (two sentences a line, as on a letter page) keeps psm 3.
    long_lines = [f"{a} {b}" for a, b in zip(SENTENCES, SENTENCES[1:] + SENTENCES[:1],
                                             strict=True)]
    wide = PageImage(0, np.asarray(text_page(long_lines, size=(1500, 900), font_size=22,
                                             top=30)), None)
    prose = run_variant(original(wide, options.preprocess), options)
    assert prose.text_width is not None and prose.text_width > 32
    assert layout_psm(prose, options) is None


def test_faint_narrow_page_is_read_from_its_variants() -> None:
    ink = np.asarray(text_page(RECEIPT_LINES, size=(700, 900), font_size=22, top=30))
    gradient = np.linspace(0, 20, ink.shape[1])[None, :]  # paper darker to the right
    faint = np.clip(215 + ink.astype(np.float64) * 40 / 255 - gradient, 0, 255)
    page = PageImage(0, faint.astype(np.uint8), None)
    always = OcrOptions(preprocess=PreprocessOptions(confident_score=101.0))
    variants = recognize_variants(page, always)
    names = [v.name for v in variants]
    # Border removal is off by default (cross-validated: benchmarks/ocr_accuracy.py).
    assert names[0] in ("original", "deskew") and "clahe" in names
    assert "border_removal" not in names
    assert all(v.psm == 6 for v in variants if v.name == "clahe")
    best = choose(variants)
    assert best.recognition is not None
    assert "PAYABLE" in best.recognition.text and "19.31" in best.recognition.text


def test_text_height_corrects_for_skew() -> None:
    from actors.ocr.models import Word
    from actors.ocr.recognize import Recognition

    # Words 100x20 px turned by 10 degrees: their boxes are about 102x37.
    words = [Word("RECEIPT", 10, 10 + 50 * i, 102, 37, 95.0, 1, 1, i) for i in range(6)]
    rec = Recognition(words=words, text="")
    assert rec.text_height == 37
    assert rec.text_height_at(10.0) == pytest.approx(20, abs=1.5)
    assert rec.text_height_at(-10.0) == rec.text_height_at(10.0)
    assert Recognition(words=words[:3], text="").text_height is None  # too few words


def _columns_page() -> PageImage:
    """A two-column page of three paragraphs a column, with wide gutters and gaps."""
    img = Image.new("L", (1700, 1400), 255)
    canvas = np.asarray(img).copy()
    for column, left in enumerate((60, 880)):
        for paragraph in range(3):
            lines = [SENTENCES[(column * 3 + paragraph + k) % len(SENTENCES)][:34]
                     for k in range(3)]
            block = np.asarray(text_page(lines, size=(760, 200), font_size=24, top=10))
            top = 80 + paragraph * 420
            canvas[top:top + 200, left:left + 760] = block
    return PageImage(0, canvas, None)


def test_a_multi_paragraph_page_keeps_its_first_reading() -> None:
    page = _columns_page()
    always = OcrOptions(preprocess=PreprocessOptions(confident_score=101.0))
    variants = recognize_variants(page, always)
    first = variants[0].recognition
    assert first is not None and first.paragraph_count >= 3
    assert first.text_width is not None and first.text_width > always.preprocess.narrow_width
    # A layout page: no cleanup variant is read (the OSD rotation could still be).
    assert [v.name for v in variants] == ["original"]
    read = set(words_of(first.text))
    assert {"sphinx", "quartz", "liquor", "nymph"} <= read, first.text
    off = replace(always, preprocess=replace(always.preprocess, layout_paragraphs=0))
    assert [v.name for v in recognize_variants(page, off)] == ["original", "clahe"]


def test_layout_paragraphs_is_validated() -> None:
    with pytest.raises(InvalidOptionsError):
        PreprocessOptions(layout_paragraphs=-1)
