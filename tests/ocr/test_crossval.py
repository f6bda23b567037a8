"""Cross-validated choice of AUTO's defaults (actors/ocr/crossval.py) on constructed pages."""

from __future__ import annotations

import numpy as np
import pytest

from actors.ocr.crossval import (
    KNOBS,
    Knob,
    PageVariants,
    ablation,
    candidates,
    chosen,
    config_of,
    folds,
    neutral,
)
from actors.ocr.options import OcrOptions
from actors.ocr.pipeline import pick

CLAHE = Knob("clahe", (False, True))


def page(name: str, original_errors: int, clahe_errors: int, collection: str = "c",
         ) -> PageVariants:
    # The clahe variant reads more confidently (60 vs 50) with as many characters: AUTO
    # picks it whenever it is tried.
    return PageVariants(name, collection, 100,
                        {"original": (50.0, 100, original_errors),
                         "clahe": (60.0, 100, clahe_errors)})


def test_a_step_that_helps_everywhere_is_kept_out_of_sample() -> None:
    pages = [page(f"p{i}", 20, 10, collection=f"c{i % 2}") for i in range(4)]
    report = ablation(pages, CLAHE, neutral())
    assert report.in_sample[True].per_page == pytest.approx(0.10)
    assert report.in_sample[False].per_page == pytest.approx(0.20)
    for scheme in ("page", "collection"):
        assert report.cross_validated[scheme].per_page == pytest.approx(0.10)
        assert report.helps(scheme)
    assert report.chosen_all is True


def test_a_step_that_only_helps_in_sample_is_dropped() -> None:
    # In-sample the step wins (10 + 24 + 24 = 58 errors against 60), but it only helps page
    # a: held out, a is read without it (b and c vote it off) and b and c with it.
    pages = [page("a", 20, 10), page("b", 20, 24), page("c", 20, 24)]
    report = ablation(pages, CLAHE, neutral(), schemes=("page",))
    assert report.in_sample[True].pooled < report.in_sample[False].pooled
    assert report.chosen_all is True
    assert report.cross_validated["page"].pooled == pytest.approx((20 + 24 + 24) / 300)
    assert not report.helps("page")
    assert report.picks["page"] == {False: 1, True: 2}


def test_ties_go_to_off() -> None:
    pages = [page(f"p{i}", 20, 20) for i in range(3)]
    report = ablation(pages, CLAHE, neutral(), schemes=("page",))
    assert report.chosen_all is False and not report.helps("page")


def test_leave_one_collection_out_holds_out_whole_collections() -> None:
    pages = [page("a", 1, 1, "x"), page("b", 1, 1, "y"), page("c", 1, 1, "x")]
    assert [f.tolist() for f in folds(pages, "collection")] == [[0, 2], [1]]
    assert [f.tolist() for f in folds(pages, "page")] == [[0], [1], [2]]
    with pytest.raises(ValueError):
        folds(pages, "nope")


def test_candidates_follow_auto() -> None:
    variants = {"original": (50.0, 100, 5), "deskew": (55.0, 100, 1),
                "clahe": (70.0, 100, 9), "clahe@psm3": (40.0, 100, 3), "rotate": (30.0, 10, 0)}
    skewed = PageVariants("s", "c", 100, variants, skewed=True, narrow=True)
    config = neutral() | {"clahe": True, "rotation": True, "narrow_psm": True}
    assert candidates(skewed, config) == ["deskew", "original", "clahe", "rotate"]
    assert chosen(skewed, config) == "clahe"
    assert candidates(skewed, config | {"narrow_psm": False}) == ["original", "clahe@psm3",
                                                                  "rotate"]
    straight = PageVariants("t", "c", 100, {**variants, "original": (90.0, 100, 5)})
    # Confident and straight: the page as given only.
    assert candidates(straight, config | {"confident_score": 88.0}) == ["original"]


def test_pick_thresholds() -> None:
    # The second variant is more confident but keeps only 80% of the characters.
    assert pick([(50.0, 100), (60.0, 80)], min_gain=1.0, min_char_share=0.9) == 0
    assert pick([(50.0, 100), (60.0, 80)], min_gain=1.0, min_char_share=0.0) == 1
    assert pick([(50.0, 100), (50.5, 100)], min_gain=1.0, min_char_share=0.0) == 0
    assert pick([(50.0, 100), (50.5, 100)], min_gain=0.0, min_char_share=0.0) == 1


def test_code_defaults_are_knob_values() -> None:
    config = config_of(OcrOptions())
    assert set(config) == {k.name for k in KNOBS}
    for knob in KNOBS:
        assert config[knob.name] in knob.values, knob.name
    assert np.isfinite(config["min_gain"])


def test_choose_no_longer_needs_ninety_percent_of_the_characters() -> None:
    # The cross-validated default: the more confident variant wins even when it read fewer
    # characters (the 90% rule helped in-sample only), and any gain counts.
    from actors.ocr.models import Word
    from actors.ocr.pipeline import Variant, choose
    from actors.ocr.recognize import Recognition

    def variant(name: str, conf: float, words: int) -> Variant:
        rec = Recognition([Word("word", 0, 0, 10, 10, conf, 1, 1, 1)] * words, "")
        return Variant(name, np.zeros((1, 1), np.uint8), np.eye(3), None, recognition=rec)

    assert choose([variant("original", 60.0, 10), variant("clahe", 70.0, 5)]).name == "clahe"
    assert choose([variant("original", 60.0, 10), variant("clahe", 60.5, 10)]).name == "clahe"
    assert choose([variant("original", 60.0, 10), variant("clahe", 60.0, 10)]).name == "original"
    assert not OcrOptions().preprocess.border_removal


def test_a_layout_page_compares_the_page_as_given_with_its_rotation_only() -> None:
    variants = {"original": (60.0, 500, 40), "clahe": (70.0, 500, 80), "deskew": (61.0, 500, 9),
                "rotate": (30.0, 50, 400)}
    config = neutral() | {"clahe": True, "rotation": True, "narrow_psm": True,
                          "layout_paragraphs": 3}
    long_page = PageVariants("multicol", "c", 1000, variants, paragraphs=12)
    assert candidates(long_page, config) == ["original", "rotate"]
    assert chosen(long_page, config) == "original"
    assert candidates(long_page, config | {"layout_paragraphs": 0}) == [
        "original", "clahe", "rotate"]
    assert candidates(long_page, config | {"layout_paragraphs": 24}) == [
        "original", "clahe", "rotate"]
    # A receipt (narrow), a skewed page and a page whose text could not be measured (a faded
    # page read as given) still try every variant.
    for other in (PageVariants("r", "c", 1000, variants, narrow=True, paragraphs=12),
                  PageVariants("u", "c", 1000, variants, sized=False, paragraphs=12)):
        assert "clahe" in candidates(other, config)
    skewed = PageVariants("s", "c", 1000, variants, skewed=True, paragraphs=12)
    assert candidates(skewed, config)[:3] == ["deskew", "original", "clahe"]
