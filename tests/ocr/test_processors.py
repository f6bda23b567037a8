"""Document processors: receipt field normalisation and extraction, text analysis, the
plug-in registry."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from actors.ocr.errors import InvalidOptionsError
from actors.ocr.processors import (
    ProcessorInput,
    ReceiptProcessor,
    TextAnalysisProcessor,
    register_processor,
    registered_processors,
    run_processors,
)
from actors.ocr.processors.parsing import find_amounts, parse_amount, parse_date
from actors.ocr.processors.receipts import extract_date, extract_total
from actors.ocr.processors.text_analysis import guess_language


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("25/12/2018", "2018-12-25"),
        ("05 MAR 2018", "2018-03-05"),
        ("10-03-2018", "2018-03-10"),
        ("20-02-18", "2018-02-20"),
        ("DATE:02/02/17 19:46", "2017-02-02"),
        ("2018-12-25T10:00", "2018-12-25"),
        ("12/25/2018", "2018-12-25"),  # month first only when the day cannot be
        ("March 5, 2018", "2018-03-05"),
        ("5th September 2019", "2019-09-05"),
        ("31.01.2020", "2020-01-31"),
        ("Tel: 03-7803 0974", None),
        ("32/13/2018", None),
        # OCR confusions in a digit context and stray quotes around separators.
        ("DaterD2/O2/17 19:46", "2017-02-02"),
        ("Date i 20- \u201c06- 2018 3: Ni 45", "2018-06-20"),
        ("2O-O6-2Ol8", "2018-06-20"),
        ("Date: 3l/03/2Ol8", "2018-03-31"),
        ("TEL NO: 03 - 7803 OF74", None),
        ("IS/OS/IO", None),  # too few real digits to be a date
        ("SS6/4 LOT 23/1", None),
        ("Gate: 05/88/2017", None),
    ],
)
def test_dates_are_normalised_to_iso(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize(
    ("text", "amount"),
    [("$8.20", "8.20"), ("RM 5.90", "5.90"), ("1,234.50", "1234.50"), ("12,50", "12.50"),
     ("-2.78", "-2.78"), ("9.00", "9.00"), ("no money", None)],
)
def test_amounts_are_decimal_strings(text: str, amount: str | None) -> None:
    assert parse_amount(text) == amount


def test_find_amounts_ignores_integers_and_phone_numbers() -> None:
    assert [a.value for a in find_amounts("QTY 3 item 4.50 tel 03-55423228")] == ["4.50"]


RECEIPT = """GARDENIA BAKERIES (KL) SDN BHD (139386 X)
LOT 3, JALAN PELABUR 23/1,
TAX INVOICE
CASH INV NO.: 7805F712
DATE: 05/08/2017 11:00
O.C. WHITE 2.13 4 8.52
TOTAL 0% SUPPLIES: 11.68
TOTAL 6% SUPPLIES (EXCL. GST): 7.20
GST: 0.43
TOTAL PAYABLE:
19.31
CASH RM 50.00
CHANGE 30.69
"""


def test_receipt_fields() -> None:
    doc = ProcessorInput(RECEIPT)
    processor = ReceiptProcessor()
    assert processor.detect(doc)
    fields = processor.extract(doc)
    assert fields == {
        "vendor": "GARDENIA BAKERIES (KL) SDN BHD",
        "date": "2017-08-05",
        "total": "19.31",
        "invoice_number": "7805F712",
        "currency": "MYR",
    }


def test_receipt_processor_does_not_claim_prose() -> None:
    assert not ReceiptProcessor().detect(ProcessorInput("It was a bright cold day in April."))


def test_text_analysis() -> None:
    text = ("The quarterly report of the company was published on 2021-03-04. Revenue of the "
            "company grew to $1,200.00 and the quarterly report lists the new products. "
            "Contact investor@example.com or visit https://example.com/report for details.")
    fields = TextAnalysisProcessor().extract(ProcessorInput(text))
    assert fields["language"] == "en"
    assert fields["word_count"] > 30
    assert fields["dates"] == ["2021-03-04"] and fields["amounts"] == ["1200.00"]
    assert "quarterly report" in fields["key_phrases"]
    assert fields["emails"] == ["investor@example.com"]
    assert fields["urls"] == ["https://example.com/report"]


def test_language_guess() -> None:
    german = "Der Hund und die Katze sind nicht in dem Haus, aber sie werden bald mit uns sein"
    assert guess_language(german.split())[0] == "de"
    assert guess_language(["12", "34"])[0] is None


class Stamp:
    name = "stamp"

    def detect(self, doc: ProcessorInput) -> bool:
        return "APPROVED" in doc.text

    def extract(self, doc: ProcessorInput) -> dict[str, Any]:
        return {"approved": True}


def test_registry_runs_applicable_processors_and_plugins() -> None:
    register_processor(Stamp())
    assert {"receipt", "text", "stamp"} <= set(registered_processors())
    out = run_processors(ProcessorInput("APPROVED by the board"))
    assert out["stamp"] == {"approved": True} and "receipt" not in out
    assert set(run_processors(ProcessorInput(RECEIPT), ("receipt",))) == {"receipt"}
    with pytest.raises(InvalidOptionsError):
        run_processors(ProcessorInput("x"), ("nope",))


def test_receipt_date_is_not_in_the_future() -> None:
    today = date(2024, 6, 1)
    # 1 read as 7 in the year: repaired.
    assert extract_date(["DocNo.: CS000T1351 Date: 31/03/2078"], today) == "2018-03-31"
    # A later plausible date wins over an impossible labelled one.
    assert extract_date(["Date: 05/08/2099", "printed 06/08/2017"], today) == "2017-08-06"
    assert extract_date(["DATE: 05/08/2017 11:00"], today) == "2017-08-05"
    assert extract_date(["no date here"], today) is None


@pytest.mark.parametrize(
    ("lines", "total"),
    [
        # A tax amount is not the total, even on a "payable" line (SROIE 043: the total
        # itself is unreadable under a pen mark).
        (["Total (Excluding GST): i4.aS", "GST Payable: 10.75",
          "Total (Inclusive of GST): e000", "CASH : 200. 00"], None),
        (["Total (Inclusive of GST): 71.02", "GST Payable: 4.02"], "71.02"),
        # The rounded total after the rounding adjustment is the one paid (SROIE 597, 422).
        (["Total (Inclusive of GST): 71.02", "Rounding Adj: -0.02", "TOTAL: 71.00",
          "CASH : 71.00"], "71.00"),
        (["Total : 216.38", "Rounding Adj: -0.01", "Balance Due: 16.30",
          "Payment (Cash) : 17.00", "Change (Cash) : 0.70"], "16.30"),
        # No total after the rounding line: the totals before it still count.
        (["TOTAL 12.40", "Rounding 0.00", "CASH 20.00"], "12.40"),
        # Cells of one row read together: each amount is labelled by the text before it.
        (["TOTAL SAVING: 0.00 TOTAL 6.85", "Cash 20.00"], "6.85"),
        (["TOTAL 12.50 CASH 50.00"], "12.50"),
        (["Total 67.00 4.02"], "67.00"),
        # A bare label with the amount on the next line.
        (["TOTAL PAYABLE:", "19.31", "CASH RM 50.00"], "19.31"),
    ],
)
def test_receipt_total(lines: list[str], total: str | None) -> None:
    assert extract_total(lines) == total
