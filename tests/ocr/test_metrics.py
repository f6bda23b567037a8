"""The error rates the OCR benchmark and tests report."""

from __future__ import annotations

import pytest

from actors.ocr.metrics import bag_of_words_error, cer, wer


def test_cer_and_wer_collapse_whitespace_and_can_ignore_case() -> None:
    assert cer("Total  12.50\n", "total 12.50", case_insensitive=True) == 0.0
    assert cer("abcd", "abed") == pytest.approx(0.25)
    assert wer("one two three", "one too three") == pytest.approx(1 / 3)


def test_bag_of_words_error_ignores_order_but_not_content() -> None:
    ref = "Date 01/02/2018 Total 12.50"
    assert bag_of_words_error(ref, "Total 12.50 Date 01/02/2018") == 0.0
    assert cer(ref, "Total 12.50 Date 01/02/2018") > 0.5  # what order costs CER
    # one substitution: one word missed and one spurious
    assert bag_of_words_error(ref, "Date 01/02/2018 Total 12.58") == pytest.approx(2 / 4)
    assert bag_of_words_error(ref, "Date Date 01/02/2018 Total 12.50") == pytest.approx(1 / 4)
    assert bag_of_words_error(ref, "") == 1.0
    assert bag_of_words_error("", "") == 0.0 and bag_of_words_error("", "x") == 1.0
    assert bag_of_words_error("TOTAL", "total", case_insensitive=True) == 0.0
