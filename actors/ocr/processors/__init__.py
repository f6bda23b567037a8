"""Document processors: a plug-in interface plus receipts/invoices and generic text."""

from actors.ocr.processors.base import (
    DocumentProcessor,
    ProcessorInput,
    register_processor,
    registered_processors,
    run_processors,
)
from actors.ocr.processors.receipts import ReceiptProcessor
from actors.ocr.processors.text_analysis import TextAnalysisProcessor

__all__ = [
    "DocumentProcessor",
    "ProcessorInput",
    "ReceiptProcessor",
    "TextAnalysisProcessor",
    "register_processor",
    "registered_processors",
    "run_processors",
]
