"""The document-processor plug-in interface and its registry.

A processor looks at the OCR result of a whole document, says whether it applies
(``detect``) and extracts JSON-ready fields (``extract``). Register new ones with
:func:`register_processor`; :func:`run_processors` runs the applicable ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from actors.ocr.errors import InvalidOptionsError


@dataclass
class ProcessorInput:
    """What a processor sees: the document text and, per page, its lines of text."""

    text: str
    pages: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]


@runtime_checkable
class DocumentProcessor(Protocol):
    name: str

    def detect(self, doc: ProcessorInput) -> bool:
        """True when this processor applies to the document."""
        ...

    def extract(self, doc: ProcessorInput) -> dict[str, Any]:
        """Fields as JSON values (strings, numbers, lists, dicts; None when absent)."""
        ...


_REGISTRY: dict[str, DocumentProcessor] = {}


def register_processor(processor: DocumentProcessor) -> None:
    _REGISTRY[processor.name] = processor


def registered_processors() -> dict[str, DocumentProcessor]:
    _ensure_builtins()
    return dict(_REGISTRY)


def _ensure_builtins() -> None:
    if "receipt" not in _REGISTRY:
        from actors.ocr.processors.receipts import ReceiptProcessor
        from actors.ocr.processors.text_analysis import TextAnalysisProcessor

        register_processor(ReceiptProcessor())
        register_processor(TextAnalysisProcessor())


def check_processors(names: tuple[str, ...] | list[str] | None) -> None:
    """:class:`InvalidOptionsError` when a name is not a registered processor (checked when
    a document is submitted, before any job exists)."""
    if names is None:
        return
    registry = registered_processors()
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise InvalidOptionsError(f"unknown processors {unknown}; known: {sorted(registry)}")


def run_processors(doc: ProcessorInput, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Run the processors named (``None`` = every registered one) whose ``detect`` is True.

    Unknown names raise :class:`InvalidOptionsError`. Returns ``{name: fields}``.
    """
    registry = registered_processors()
    if names is None:
        chosen = list(registry.values())
    else:
        check_processors(names)
        chosen = [registry[n] for n in names]
    return {p.name: p.extract(doc) for p in chosen if p.detect(doc)}
