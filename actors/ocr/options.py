"""Options of one OCR request (plain dataclasses, JSON friendly)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from actors.ocr.errors import InvalidOptionsError


class TextLayerMode(StrEnum):
    """What to do with PDF pages that already carry text (OCRmyPDF's vocabulary).

    - ``error``: refuse the document with :class:`~actors.ocr.errors.PriorTextError` (default).
    - ``skip``: keep the existing text of those pages, OCR the others.
    - ``redo``: re-OCR pages whose text is invisible (a previous OCR layer), keep pages with
      visible (born-digital) text.
    - ``force``: rasterise and OCR every page whatever text it carries.
    """

    ERROR = "error"
    SKIP = "skip"
    REDO = "redo"
    FORCE = "force"


class Strategy(StrEnum):
    """How a page is recognised.

    - ``single``: one preprocessing pipeline, one Tesseract pass (plus OSD when enabled).
    - ``auto``: a few preprocessing variants, the one with the best Tesseract word confidence
      wins (never the ground truth). Slower (1-3 passes per page), more accurate.
    """

    SINGLE = "single"
    AUTO = "auto"


@dataclass(frozen=True)
class PreprocessOptions:
    """Switchable OpenCV preprocessing steps.

    ``Strategy.SINGLE`` applies the enabled steps in this order: grayscale, rescale, deskew,
    border removal, denoise, CLAHE, contrast, binarize; then rotates the page when OSD says so with
    at least ``osd_min_confidence``.

    ``Strategy.AUTO`` OCRs the page as given first; when Tesseract's confidence is below
    ``confident_score`` it also tries one variant per enabled cleanup step (border removal,
    denoise, CLAHE, contrast, binarize: each on the grayscale, rescaled, deskewed page) and,
    when OSD proposes a rotation, the rotated page; the variant with the best confidence
    wins. AUTO rescales by the size of the text the first pass read: its median word height
    is brought to ``target_text_px`` (0: by resolution only, as SINGLE does). A page whose
    text is narrow (at most ``narrow_width`` word heights wide: a receipt's single column)
    has its variants read with ``narrow_psm`` (6, one uniform block: item and price stay on
    one line) instead of ``OcrOptions.psm``; ``narrow_psm=0`` turns that off. A page that
    is not narrow, not skewed, and whose first pass found at least ``layout_paragraphs``
    paragraphs (a multi-column page, a table, a long document) keeps that first reading and
    its layout: no cleanup variant, only the OSD rotation (0 turns that off).
    Defaults: chosen by cross-validation on ``data/ocr`` (``benchmarks/ocr_accuracy.py``,
    table 1): a step is on only when choosing it on the other pages lowers the CER of the
    held-out page (leave one page out) and does not raise it on a held-out collection.
    CLAHE and the narrow psm pass; border removal (lower CER in-sample only), denoise,
    contrast and binarisation do not. OSD rotation stays on (one page here needs it).
    """

    grayscale: bool = True
    rescale: bool = True
    target_dpi: int = 300
    min_height_px: int = 2000
    max_scale: float = 4.0
    max_upscaled_pixels: int = 20_000_000
    deskew: bool = True
    border_removal: bool = False  # in-sample gain only: benchmarks/ocr_accuracy.py
    denoise: bool = False
    clahe: bool = True
    contrast: bool = False
    binarize: bool = False
    orientation: bool = True
    osd_min_confidence: float = 10.0
    confident_score: float = 88.0
    target_text_px: float = 24.0
    narrow_psm: int = 6
    narrow_width: float = 32.0
    layout_paragraphs: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.narrow_psm <= 13 or self.narrow_psm == 2:
            raise InvalidOptionsError(
                f"narrow_psm must be 0 (off) or a psm 1..13 except 2, got {self.narrow_psm}")
        if self.layout_paragraphs < 0:
            raise InvalidOptionsError(
                f"layout_paragraphs must be >= 0 (0: off), got {self.layout_paragraphs}")
        if self.target_text_px < 0:
            raise InvalidOptionsError(f"target_text_px must be >= 0, got {self.target_text_px}")

    @classmethod
    def none(cls) -> PreprocessOptions:
        """No preprocessing at all: Tesseract on the page as decoded."""
        return cls(**dict.fromkeys(PREPROCESS_STEPS, False), narrow_psm=0)

    @property
    def any_step(self) -> bool:
        """Whether any step that changes the pixels (or turns the page) is on."""
        return any(getattr(self, name) for name in PREPROCESS_STEPS)


PREPROCESS_STEPS = ("grayscale", "rescale", "deskew", "border_removal", "denoise", "clahe",
                    "contrast", "binarize", "orientation")
"""The switchable steps of :class:`PreprocessOptions` that change the pixels."""


_LANG_RE = re.compile(r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$")


@dataclass(frozen=True)
class OcrOptions:
    """Options of :func:`actors.ocr.process_document`.

    ``dpi``: the resolution PDF pages are rendered at; ``None`` (default) renders a scanned
    page at its images' own resolution and other pages at 300 dpi (see
    :func:`actors.ocr.loading.pdf_render_dpi`).

    Limits: ``max_bytes`` (input size), ``max_pages``, ``max_pixels_per_page`` (raster pages;
    PDF pages are rendered at a lower DPI when ``dpi`` would exceed it; Pillow refuses
    images above ~89 Mpx whatever this says), ``page_timeout_s`` (per page: the first
    Tesseract pass must finish in it, else :class:`PageTimeoutError`; AUTO's extra variants
    only use what is left of it). ``None`` disables a limit.
    """

    lang: str = "eng"
    psm: int = 3
    dpi: int | None = None
    text_layer: TextLayerMode = TextLayerMode.ERROR
    strategy: Strategy = Strategy.AUTO
    preprocess: PreprocessOptions = field(default_factory=PreprocessOptions)
    hocr: bool = False
    pdf: bool = False
    processors: tuple[str, ...] | None = None
    max_bytes: int | None = 100 * 1024 * 1024
    max_pages: int | None = 200
    max_pixels_per_page: int | None = 60_000_000
    page_timeout_s: float | None = 120.0

    def __post_init__(self) -> None:
        if not _LANG_RE.match(self.lang):
            raise InvalidOptionsError(f"invalid language spec {self.lang!r} (e.g. 'eng+deu')")
        if not 0 <= self.psm <= 13 or self.psm == 2:
            raise InvalidOptionsError(f"psm must be 0..13 except 2, got {self.psm}")
        if self.dpi is not None and not 36 <= self.dpi <= 1200:
            raise InvalidOptionsError(f"dpi must be in 36..1200, got {self.dpi}")
        try:
            object.__setattr__(self, "text_layer", TextLayerMode(self.text_layer))
            object.__setattr__(self, "strategy", Strategy(self.strategy))
        except ValueError as exc:
            raise InvalidOptionsError(str(exc)) from None
        for name in ("max_bytes", "max_pages", "max_pixels_per_page", "page_timeout_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise InvalidOptionsError(f"{name} must be positive or None, got {value}")
        if self.processors is not None:
            object.__setattr__(self, "processors", tuple(self.processors))

    def with_(self, **changes: Any) -> OcrOptions:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OcrOptions:
        """Build from JSON-like data; unknown keys raise :class:`InvalidOptionsError`."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidOptionsError(f"unknown options: {sorted(unknown)}")
        kwargs = dict(data)
        pre = kwargs.get("preprocess")
        if isinstance(pre, dict):
            pre_known = {f.name for f in fields(PreprocessOptions)}
            bad = set(pre) - pre_known
            if bad:
                raise InvalidOptionsError(f"unknown preprocess options: {sorted(bad)}")
            kwargs["preprocess"] = PreprocessOptions(**pre)
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise InvalidOptionsError(str(exc)) from None
