"""A page checkpoint's result reads back as the same PageResult (the durable job tests
cover saving, resuming and clearing them on the real stores)."""

from __future__ import annotations

from actors.ocr.models import PageResult, Word
from deployments.ocr.checkpoints import page_from_dict


def test_page_result_round_trips_through_its_dict() -> None:
    page = PageResult(page=3, text="Total 12.50", mean_confidence=91.5, width=800,
                      height=600, dpi=300.0, rotation=90, skew=-1.25, variant="clahe",
                      steps=["grayscale", "rotate 90"], candidates={"original": 80.0},
                      hocr="<div/>", timings={"total": 1.5},
                      words=[Word("Total", 10, 20, 60, 18, 95.0, 1, 1, 1),
                             Word("12.50", 80, 20, 50, 18, 88.0, 1, 1, 1)])
    assert page_from_dict(page.to_dict()) == page
    text_layer = PageResult(page=1, text="kept", source="text_layer", mean_confidence=100.0)
    assert page_from_dict(text_layer.to_dict()) == text_layer
