"""The OCR of one page and of a whole document (plain Python, no Ray).

Per page (:func:`ocr_page`): ``Strategy.SINGLE`` runs the enabled preprocessing steps and
one Tesseract pass; ``Strategy.AUTO`` recognises a few preprocessing variants
(:func:`recognize_variants`) and keeps the one Tesseract is most confident about
(:func:`choose`), never looking at ground truth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from actors.ocr import preprocess as pp
from actors.ocr.errors import OcrEngineError, PageTimeoutError, PriorTextError
from actors.ocr.loading import DocType, PageImage, check_limits, iter_pages, pdf_text_layers
from actors.ocr.models import DocumentResult, PageResult, Word
from actors.ocr.options import OcrOptions, PreprocessOptions, Strategy, TextLayerMode
from actors.ocr.pdf_output import OriginalPage, PdfPart, merge_pdfs
from actors.ocr.processors import ProcessorInput, run_processors
from actors.ocr.recognize import (
    Orientation,
    Recognition,
    check_languages,
    detect_orientation,
    recognize,
)

# Deskew only when the page is measurably skewed (resampling a straight page only blurs it).
MIN_SKEW_DEG = 0.3
# A variant must beat the current best by this many confidence points to win ...
# (0: any gain; 1.0 was worse in-sample and held out: benchmarks/ocr_accuracy.py, table 1)
MIN_GAIN = 0.0
# ... and must keep at least this share of the characters. 0: no such rule; the old 0.9
# ("keep 90% of the characters") lowered CER in-sample only, not with the page held out
# (benchmarks/ocr_accuracy.py, table 1).
MIN_CHAR_SHARE = 0.0
# A narrow page is read as one block only when its first pass found lines of at least this
# many characters (median), not table cells.
NARROW_MIN_LINE_CHARS = 10.0


@dataclass
class Variant:
    """One preprocessed version of a page and (once run) its recognition. ``pixels`` may be
    a callable that makes them: it is called on the first access of :attr:`image` (the page
    as given is not decoded while Tesseract reads its ``encoded`` file)."""

    name: str
    pixels: np.ndarray | Callable[[], np.ndarray]
    matrix: np.ndarray  # original page pixels -> this image's pixels
    dpi: float | None
    rotation: int = 0
    skew: float = 0.0
    steps: list[str] = field(default_factory=list)
    recognition: Recognition | None = None
    seconds: float = 0.0
    encoded: bytes | None = None  # the source file, while this variant is the page as is
    psm: int | None = None  # page segmentation mode; None: the request's

    @property
    def image(self) -> np.ndarray:
        if callable(self.pixels):
            self.pixels = self.pixels()
        return self.pixels

    def derive(self, name: str, image: np.ndarray, step: str,
               matrix: np.ndarray | None = None, *, rotation: int | None = None,
               skew: float | None = None) -> Variant:
        return Variant(
            name, image, self.matrix if matrix is None else matrix @ self.matrix, self.dpi,
            self.rotation if rotation is None else rotation,
            self.skew if skew is None else skew, [*self.steps, step], psm=self.psm,
        )


@dataclass
class PageOutcome:
    """A page result plus its one-page searchable PDF (when requested)."""

    result: PageResult
    pdf: bytes | None = None


# -- preprocessing chains --------------------------------------------------------------------


def original(page: PageImage, pre: PreprocessOptions) -> Variant:
    if not page.has_image:
        raise ValueError("page has no image to OCR")

    def pixels() -> np.ndarray:
        image = page.image
        assert image is not None
        return pp.to_gray(image) if pre.grayscale else image

    steps = ["grayscale"] if pre.grayscale else []
    # Tesseract converts to grayscale itself: the source file is the same page for it.
    return Variant("original", pixels, pp.identity(), page.dpi, steps=steps,
                   encoded=page.encoded)


def prepared(base: Variant, pre: PreprocessOptions, max_pixels: int | None,
             text_height: float | None = None) -> Variant:
    """Grayscale, rescale, deskew (as enabled). Rescaling brings the median word height
    ``text_height`` (px, from a first pass) to ``pre.target_text_px`` when both are known,
    else the page to ~``target_dpi`` (or ``min_height_px``)."""
    out = base
    if pre.grayscale and out.image.ndim == 3:
        out = out.derive(out.name, pp.to_gray(out.image), "grayscale")
    if pre.rescale:
        cap = min(max_pixels or pre.max_upscaled_pixels, pre.max_upscaled_pixels)
        if text_height and pre.target_text_px:
            factor = pp.text_scale_factor(out.image.shape, text_height,
                                          target_px=pre.target_text_px,
                                          max_scale=pre.max_scale, max_pixels=cap)
        else:
            factor = pp.rescale_factor(
                out.image.shape, out.dpi, target_dpi=pre.target_dpi,
                min_height_px=pre.min_height_px, max_scale=pre.max_scale, max_pixels=cap,
            )
        if factor != 1.0:
            image, m = pp.rescale(out.image, factor)
            out = out.derive(out.name, image, f"rescale x{factor:.2f}", m)
            out.dpi = out.dpi * factor if out.dpi else None
    if pre.deskew:
        out = deskewed(out)
    return out


def deskewed(variant: Variant) -> Variant:
    angle = pp.estimate_skew(pp.to_gray(variant.image))
    if abs(angle) < MIN_SKEW_DEG:
        return variant
    image, m = pp.rotate(variant.image, -angle)
    return variant.derive(variant.name, image, f"deskew {angle:+.2f}", m, skew=angle)


def rotated(variant: Variant, clockwise: int, pre: PreprocessOptions) -> Variant:
    image, m = pp.rotate90(variant.image, clockwise)
    out = variant.derive(f"rotate{clockwise}", image, f"rotate {clockwise}", m,
                         rotation=clockwise, skew=0.0)
    out.psm = None  # the layout measured on the page as given no longer applies
    return deskewed(out) if pre.deskew else out


def _gray_step(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda image: fn(pp.to_gray(image))


CLEANUPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "border_removal": _gray_step(pp.remove_borders),
    "denoise": _gray_step(pp.denoise),
    "clahe": _gray_step(pp.clahe),
    "contrast": _gray_step(pp.normalize_contrast),
    "binarize": _gray_step(pp.binarize),
}


def _enabled_cleanups(pre: PreprocessOptions) -> list[str]:
    return [name for name in CLEANUPS if getattr(pre, name)]


# -- recognition -----------------------------------------------------------------------------


def run_variant(variant: Variant, options: OcrOptions,
                timeout_s: float | None = None) -> Recognition:
    """Recognise ``variant`` once (cached on it); ``timeout_s`` defaults to the page's."""
    if variant.recognition is None:
        t0 = time.perf_counter()
        # Tesseract reads the page as given from its file; the pixels are not needed then.
        image = None if variant.encoded is not None else variant.image
        variant.recognition = recognize(
            image, lang=options.lang, psm=variant.psm or options.psm, dpi=variant.dpi,
            timeout_s=timeout_s or options.page_timeout_s, hocr=options.hocr,
            pdf=options.pdf,
            encoded=variant.encoded,
        )
        variant.seconds = round(time.perf_counter() - t0, 3)
    return variant.recognition


def _osd(variant: Variant, options: OcrOptions,
         timeout_s: float | None = None) -> Orientation | None:
    return detect_orientation(variant.image, timeout_s=timeout_s or options.page_timeout_s,
                              dpi=variant.dpi)


# AUTO stops trying variants when less than this is left of the page timeout.
MIN_VARIANT_BUDGET_S = 1.0
# AUTO: a page skewed at least this much is tried deskewed even when Tesseract is confident
# on it as given (skewed lines read with high word confidence but in a jumbled order).
SKEW_GATE_DEG = 1.0


def is_narrow(first: Recognition, pre: PreprocessOptions) -> bool:
    """Whether the text the first pass read is a narrow column of lines (a receipt): at most
    ``narrow_width`` word heights wide, with lines of running text, not table cells."""
    width = first.text_width
    return (width is not None and width <= pre.narrow_width
            and first.line_chars >= NARROW_MIN_LINE_CHARS)


def layout_psm(first: Recognition, options: OcrOptions) -> int | None:
    """The psm for the variants of a page whose first pass read ``first``: ``narrow_psm``
    when its text is a narrow column of lines (:func:`is_narrow`; psm 3 cuts a receipt's
    labels and amounts into separate blocks), else None (the request's psm). Only under the
    default automatic segmentation (psm 3): a psm asked for is kept. Tables (lines of a few
    characters: cells) keep psm 3, which reads them cell by cell."""
    pre = options.preprocess
    if not pre.narrow_psm or options.psm != 3 or not is_narrow(first, pre):
        return None
    return pre.narrow_psm


def keeps_layout(first: Recognition, ready: Variant, options: OcrOptions) -> bool:
    """Whether AUTO keeps the first reading of a page, layout and all (a layout page: only
    the OSD rotation may still replace it, no cleanup variant is read). So when its first
    pass read enough text to measure (the text size is known: a faded page whose first pass
    read little still tries every variant), the page is not narrow, not skewed, and that
    pass found at least ``layout_paragraphs`` paragraphs. A cleanup variant is read on the
    rescaled page, which Tesseract segments anew: on the two such pages of ``data/ocr``
    where a cleanup won on confidence, the CER rose on both and the words read improved on
    one only (``benchmarks/ocr_accuracy.py``, tables 1 to 3; ``benchmarks/ocr_blocks.py``)."""
    pre = options.preprocess
    return is_layout_page(paragraphs=first.paragraph_count, sized=first.text_width is not None,
                          narrow=is_narrow(first, pre),
                          skewed=abs(ready.skew) >= SKEW_GATE_DEG, need=pre.layout_paragraphs)


def is_layout_page(*, paragraphs: int, sized: bool, narrow: bool, skewed: bool,
                   need: int) -> bool:
    """The rule of :func:`keeps_layout` on the facts of a page's first pass (also replayed
    by :mod:`actors.ocr.crossval`); ``need`` 0 turns it off."""
    return bool(need) and sized and not narrow and not skewed and paragraphs >= need


def ready_page(page: PageImage, options: OcrOptions, first: Recognition | None) -> Variant:
    """The page AUTO derives its variants from: grayscale, rescaled by the size of the text
    ``first`` read (word boxes of a skewed page corrected for the skew), deskewed; read with
    the psm its layout calls for."""
    pre = options.preprocess
    base = original(page, pre)
    height = None
    if first is not None:
        skew = pp.estimate_skew(pp.to_gray(base.image)) if pre.deskew else 0.0
        height = first.text_height_at(skew if abs(skew) >= MIN_SKEW_DEG else 0.0)
    ready = prepared(base, pre, options.max_pixels_per_page, height)
    ready.psm = layout_psm(first, options) if first is not None else None
    return ready


def recognize_variants(page: PageImage, options: OcrOptions) -> list[Variant]:
    """The recognised variants of one page, in the order :func:`choose` considers them.

    SINGLE: one variant. AUTO: the page as given; when its confidence is below
    ``confident_score`` or the page is skewed (then the straightened page comes first), one
    variant per enabled cleanup step plus the OSD rotation, each on the page rescaled by the
    size of the text the first pass read and with the psm its layout calls for
    (:func:`ready_page`); a layout page (:func:`keeps_layout`) gets the OSD rotation only.
    """
    pre = options.preprocess
    base = original(page, pre)
    if options.strategy is Strategy.SINGLE:
        chain = prepared(base, pre, options.max_pixels_per_page)
        for name in _enabled_cleanups(pre):
            chain = chain.derive("single", CLEANUPS[name](chain.image), name)
        chain.name = "single"
        if pre.orientation:
            osd = _osd(chain, options)
            if osd is not None and osd.rotate and osd.confidence >= pre.osd_min_confidence:
                chain = rotated(chain, osd.rotate, pre)
                chain.name = "single"
        run_variant(chain, options)
        return [chain]
    # The page timeout bounds the whole page: the first pass may use all of it; variants
    # only run in what is left and are dropped (not fatal) when they run out of time.
    deadline = (None if options.page_timeout_s is None
                else time.monotonic() + options.page_timeout_s)

    def budget() -> float | None:
        return None if deadline is None else deadline - time.monotonic()

    def out_of_time() -> bool:
        left = budget()
        return left is not None and left < MIN_VARIANT_BUDGET_S

    variants = [base]
    first = run_variant(base, options)
    ready = ready_page(page, options, first)
    skewed = abs(ready.skew) >= SKEW_GATE_DEG
    if (first.score >= pre.confident_score and not skewed) or out_of_time():
        return variants
    cleanups = [] if keeps_layout(first, ready, options) else _enabled_cleanups(pre)
    candidates = [ready.derive(name, CLEANUPS[name](ready.image), name) for name in cleanups]
    if skewed:
        # The straightened page goes first: the page as given must beat it to be kept.
        straight = ready.derive("deskew", ready.image, "straightened")
        try:
            run_variant(straight, options, budget())
            variants.insert(0, straight)
        except PageTimeoutError:
            return variants
    if pre.orientation and not out_of_time():
        try:
            osd = _osd(ready, options, budget())
        except PageTimeoutError:
            osd = None
        if osd is not None and osd.rotate:
            # OSD alone flips upright receipts; the rotated page must also win on confidence.
            candidates.append(rotated(ready, osd.rotate, pre))
    for variant in candidates:
        if out_of_time():
            break
        try:
            run_variant(variant, options, budget())
        except PageTimeoutError:
            break
        variants.append(variant)
    return variants


def choose(variants: list[Variant]) -> Variant:
    """The variant with the best Tesseract confidence (character-weighted word confidence),
    in order; a later one must gain ``MIN_GAIN`` points and keep ``MIN_CHAR_SHARE`` of the
    characters of the current best."""
    read = [v for v in variants if v.recognition is not None]
    if not read:
        return variants[0]
    index = pick([(v.recognition.score, v.recognition.char_count)  # type: ignore[union-attr]
                  for v in read])
    return read[index]


def pick(candidates: list[tuple[float, int]], *, min_gain: float | None = None,
         min_char_share: float | None = None) -> int:
    """Index of the winner among ``(score, char_count)`` in order (the rule of
    :func:`choose`; the thresholds default to ``MIN_GAIN`` and ``MIN_CHAR_SHARE``)."""
    gain = MIN_GAIN if min_gain is None else min_gain
    share = MIN_CHAR_SHARE if min_char_share is None else min_char_share
    best = 0
    for i, (score, chars) in enumerate(candidates[1:], 1):
        old_score, old_chars = candidates[best]
        if chars >= share * old_chars and score > old_score + gain:
            best = i
    return best


def ocr_page(page: PageImage, options: OcrOptions) -> PageOutcome:
    """OCR one decoded/rendered page. Raises typed errors (timeouts, engine failures)."""
    started = time.perf_counter()
    variants = recognize_variants(page, options)
    best = choose(variants)
    result = page_result(page, best, variants)
    result.timings["total"] = round(time.perf_counter() - started, 3)
    assert best.recognition is not None
    return PageOutcome(result, best.recognition.pdf)


def reads_file_as_is(options: OcrOptions) -> bool:
    """Whether ``options`` OCR a single-page image file exactly as it is: one Tesseract
    pass (SINGLE), no preprocessing step, no OSD, TSV only (no hOCR, no PDF)."""
    return (options.strategy is Strategy.SINGLE and not options.preprocess.any_step
            and not options.hocr and not options.pdf)


def file_page_result(page: PageImage, recognition: Recognition,
                     options: OcrOptions) -> PageResult:
    """The result of a page Tesseract read from its file as it is (``reads_file_as_is``),
    as :func:`ocr_page` would give it."""
    variant = original(page, options.preprocess)
    variant.name = "single"
    variant.recognition = recognition
    return page_result(page, variant, [variant])


def page_result(page: PageImage, best: Variant, variants: list[Variant]) -> PageResult:
    """Result of the chosen variant, word boxes mapped back to the page as decoded."""
    assert best.recognition is not None
    rec = best.recognition
    boxes = pp.map_boxes(np.linalg.inv(best.matrix),
                         np.array([[w.left, w.top, w.width, w.height] for w in rec.words]))
    words = [Word(w.text, int(x), int(y), int(width), int(height), w.confidence,
                  w.block, w.paragraph, w.line)
             for w, (x, y, width, height) in zip(rec.words, boxes.tolist(), strict=True)]
    return PageResult(
        page=page.index + 1,
        text=rec.text,
        words=words,
        mean_confidence=round(rec.mean_confidence, 2),
        source="ocr",
        width=page.width,
        height=page.height,
        dpi=page.dpi,
        rotation=best.rotation,
        skew=round(best.skew, 2),
        variant=best.name,
        steps=best.steps,
        candidates={v.name: round(v.recognition.score, 2) for v in variants if v.recognition},
        hocr=rec.hocr,
        timings={f"ocr:{v.name}": v.seconds for v in variants},
    )


# -- documents -------------------------------------------------------------------------------


def text_layer_page(page: PageImage) -> PageResult:
    """A page whose existing PDF text is kept (``skip``/``redo`` modes)."""
    return PageResult(page=page.index + 1, text=page.text_layer or "", source="text_layer",
                      mean_confidence=100.0, variant="text_layer")


def pages_to_ocr(data: bytes, mode: TextLayerMode) -> set[int] | None:
    """Indexes of PDF pages to rasterise and OCR under ``mode`` (None = all).

    Raises :class:`PriorTextError` in ``error`` mode when any page has text.
    """
    if mode is TextLayerMode.FORCE:
        return None
    layers = pdf_text_layers(data)
    with_text = [i for i, (text, _) in enumerate(layers) if text]
    if mode is TextLayerMode.ERROR:
        if with_text:
            pages = ", ".join(str(i + 1) for i in with_text[:10])
            raise PriorTextError(
                f"page(s) {pages} already have text; use text_layer='skip', 'redo' or 'force'"
            )
        return None
    if mode is TextLayerMode.SKIP:
        return {i for i, (text, _) in enumerate(layers) if not text}
    # REDO: OCR again pages without text or with invisible text only (a previous OCR layer).
    return {i for i, (text, visible) in enumerate(layers) if not text or not visible}


def recognise_page(
    data: bytes, page: PageImage, options: OcrOptions
) -> tuple[PageResult, PdfPart | None]:
    """One page of ``data``: its kept text layer, or OCR; with the page's part of the
    searchable PDF (None when OCR made none and ``options.pdf`` is off)."""
    if not page.has_image:
        return text_layer_page(page), OriginalPage(data, page.index)
    outcome = ocr_page(page, options)
    if options.pdf and outcome.pdf is None:
        raise OcrEngineError(f"tesseract produced no PDF for page {page.index + 1}")
    return outcome.result, outcome.pdf


def assemble(
    doc_type: DocType,
    pages: list[PageResult],
    parts: list[PdfPart],
    options: OcrOptions,
    started: float,
) -> DocumentResult:
    """The document from its recognised pages: processor fields, the merged searchable PDF
    (when ``options.pdf``) and timings since ``started`` (a ``perf_counter`` value)."""
    timings = {"ocr": round(time.perf_counter() - started, 3)}
    t0 = time.perf_counter()
    fields = run_processors(
        ProcessorInput(text="\n\n".join(p.text for p in pages), pages=[p.text for p in pages]),
        options.processors,
    )
    timings["processors"] = round(time.perf_counter() - t0, 3)
    merged = merge_pdfs(parts) if options.pdf else None
    timings["total"] = round(time.perf_counter() - started, 3)
    return DocumentResult(doc_type=str(doc_type), pages=pages, fields=fields,
                          timings=timings, pdf=merged)


def process_document(data: bytes, options: OcrOptions | None = None) -> DocumentResult:
    """OCR a PNG/JPEG/TIFF/PDF document given as bytes (type detected from content).

    Returns text, per-page words with boxes and confidences, fields of the applicable
    processors, timings, and the merged searchable PDF when ``options.pdf``. Raises the
    :class:`~actors.ocr.errors.OcrInputError` family for bad input or exceeded limits,
    :class:`~actors.ocr.errors.OcrEngineError` when Tesseract fails.
    """
    options = options or OcrOptions()
    started = time.perf_counter()
    check_languages(options.lang)
    doc_type = check_limits(data, options)
    render = pages_to_ocr(data, options.text_layer) if doc_type is DocType.PDF else None
    pages: list[PageResult] = []
    parts: list[PdfPart] = []
    for page in iter_pages(data, options, render=render):
        result, part = recognise_page(data, page, options)
        pages.append(result)
        if part is not None:
            parts.append(part)
    return assemble(doc_type, pages, parts, options, started)
