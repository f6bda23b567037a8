"""Result types of the OCR logic: dataclasses that serialise to JSON-ready dicts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Word:
    """One recognised word; box in pixels of the page as decoded/rendered (before any
    preprocessing), confidence 0..100 as reported by Tesseract."""

    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float
    block: int = 0
    paragraph: int = 0
    line: int = 0


@dataclass
class PageResult:
    """OCR (or existing text layer) of one page.

    ``source``: ``ocr`` or ``text_layer`` (PDF text kept in ``skip``/``redo`` mode).
    ``width``/``height``: the page image as decoded (PDF: rendered at ``dpi``).
    ``rotation``: clockwise degrees applied to make the page upright; ``skew``: degrees of
    deskew applied; ``variant``: name of the preprocessing variant that won.
    """

    page: int  # 1-based
    text: str
    words: list[Word] = field(default_factory=list)
    mean_confidence: float = 0.0
    source: str = "ocr"
    width: int = 0
    height: int = 0
    dpi: float | None = None
    rotation: int = 0
    skew: float = 0.0
    variant: str = ""
    steps: list[str] = field(default_factory=list)
    candidates: dict[str, float] = field(default_factory=dict)
    hocr: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self, *, words: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not words:
            data.pop("words")
        return data


@dataclass
class DocumentResult:
    """Result of :func:`actors.ocr.process_document`.

    ``fields``: per processor name, the extracted fields (JSON values only).
    ``pdf``: searchable PDF bytes when requested (left out of :meth:`to_dict`).
    """

    doc_type: str
    pages: list[PageResult]
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    pdf: bytes | None = None

    @property
    def text(self) -> str:
        return "\n\f\n".join(page.text for page in self.pages)

    @property
    def mean_confidence(self) -> float:
        ocr = [p for p in self.pages if p.source == "ocr" and p.words]
        if not ocr:
            return 0.0
        return sum(p.mean_confidence for p in ocr) / len(ocr)

    def to_dict(self, *, words: bool = True) -> dict[str, Any]:
        return {
            "doc_type": self.doc_type,
            "page_count": len(self.pages),
            "text": self.text,
            "mean_confidence": round(self.mean_confidence, 2),
            "pages": [p.to_dict(words=words) for p in self.pages],
            "fields": self.fields,
            "timings": self.timings,
            "has_pdf": self.pdf is not None,
        }

    def to_json(self, *, words: bool = True) -> str:
        return json.dumps(self.to_dict(words=words), ensure_ascii=False)
