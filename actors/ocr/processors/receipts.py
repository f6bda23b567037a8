"""Receipts and invoices: vendor, date, total, invoice number (normalised).

Heuristics tuned on SROIE receipts (benchmarks/ocr_accuracy.py measures them): the total
is the largest amount labelled as a total (on its line or the line after a bare label), the
one after the rounding adjustment when there is one; the date the first date near a
``DATE`` label (else the first date), the vendor the first line that looks like a company
name.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from actors.ocr.processors.base import ProcessorInput
from actors.ocr.processors.parsing import find_amounts, find_dates

_SIGNALS = re.compile(
    r"\b(total|subtotal|sub total|cash|change|gst|vat|tax invoice|invoice|receipt|qty|"
    r"amount|rounding|payable|due|tender|balance)\b",
    re.IGNORECASE,
)
_TOTAL_LINE = re.compile(
    r"\b(total|payable|amount due|amt due|due|amount to be paid|nett|net amount|grand)\b",
    re.IGNORECASE,
)
_NOT_TOTAL = re.compile(
    r"\b(qty|quantity|items?|saving|discount|change|cash|tendered|points?|tax\s?\(|"
    r"excl|excluding|gst\s*@|@\s*\d+\s*%|(?:gst|vat|sst|tax)\s*(?:payable|due)\b)",
    re.IGNORECASE,
)
# A rounding adjustment: the total after it is the one paid (totals before it are unrounded).
_ROUNDING = re.compile(r"\brounding\b", re.IGNORECASE)
_COMPANY = re.compile(
    r"\b(sdn\.?\s*bhd|s/b|bhd|enterprise|trading|restoran|restaurant|store|mart|shop|"
    r"company|co\.|ltd|limited|inc|llc|gmbh|bakeries|marketing|cafe|hardware|"
    r"stationery|house|pharmacy|supermarket|hotel)\b",
    re.IGNORECASE,
)
_INVOICE_NO = re.compile(
    r"\b(?:tax\s+)?(?:invoice|inv|bill|receipt|document|doc|cash\s+inv)\.?\s*"
    r"(?:no|number|#|num)\.?\s*[:#.]?\s*([A-Z0-9][A-Z0-9\-/]{3,})",
    re.IGNORECASE,
)
_DATE_LABEL = re.compile(r"\bdate\b|\bdd\b", re.IGNORECASE)


class ReceiptProcessor:
    name = "receipt"

    def detect(self, doc: ProcessorInput) -> bool:
        signals = {m.group(1).lower() for m in _SIGNALS.finditer(doc.text)}
        return len(signals) >= 2 and bool(find_amounts(doc.text))

    def extract(self, doc: ProcessorInput) -> dict[str, Any]:
        lines = doc.lines
        return {
            "vendor": extract_vendor(lines),
            "date": extract_date(lines),
            "total": extract_total(lines),
            "invoice_number": extract_invoice_number(doc.text),
            "currency": _currency(doc.text),
        }


def extract_total(lines: list[str]) -> str | None:
    """The largest amount labelled as a total: on a total line, or on one of the two lines
    after a bare total label. A line with several amounts (cells of a row read together:
    ``TOTAL SAVING: 0.00 TOTAL 6.85``) labels each by the text before it. Tax amounts
    (``GST Payable``), tendered cash, change and discounts are not totals. When a rounding
    adjustment line comes before some of the totals, only those after it count: the rounded
    total is the one paid."""
    candidates: list[tuple[int, Decimal]] = []
    rounding = None
    for i, line in enumerate(lines):
        if _ROUNDING.search(line) and not _TOTAL_LINE.search(line) and rounding is None:
            rounding = i
        amounts = find_amounts(line)
        if not amounts:
            if _is_total_label(line):
                for follow in lines[i + 1 : i + 3]:
                    amounts = find_amounts(follow)
                    if amounts:
                        candidates.extend((i, Decimal(a.value)) for a in amounts)
                        break
            continue
        labelled = False
        start = 0
        for amount in amounts:
            label = line[start : amount.start]
            if len(amounts) == 1:
                labelled = _is_total_label(line)
            elif any(c.isalpha() for c in label):
                labelled = _is_total_label(label)
            # else: a bare column of numbers keeps the label of the amount before it
            if labelled:
                candidates.append((i, Decimal(amount.value)))
            start = amount.end
    if rounding is not None and any(i > rounding for i, _ in candidates):
        candidates = [(i, c) for i, c in candidates if i > rounding]
    positive = [c for _, c in candidates if c > 0]
    if positive:
        return str(max(positive))
    return None


def _is_total_label(text: str) -> bool:
    if not _TOTAL_LINE.search(text):
        return False
    return not _NOT_TOTAL.search(text) or bool(re.search(r"\bincl", text, re.IGNORECASE))


def extract_date(lines: list[str], today: date | None = None) -> str | None:
    """The first date near a ``DATE`` label, else the first date. A receipt is not dated in
    the future: a year after next year is read as an OCR slip (``2078`` for ``2018``: 1 and
    7 look alike on thermal print) and repaired when that gives a past year, else skipped
    for the next date found."""
    candidates: list[str] = []
    for i, line in enumerate(lines):
        if _DATE_LABEL.search(line):
            for near in lines[i : i + 3]:
                candidates.extend(d.value for d in find_dates(near))
    for line in lines:
        candidates.extend(d.value for d in find_dates(line))
    if not candidates:
        return None
    latest = (today or date.today()).year + 1
    for iso in candidates:
        repaired = iso[:2] + iso[2:4].replace("7", "1") + iso[4:]
        for value in (iso, repaired):
            if int(value[:4]) <= latest and _valid(value):
                return value
    return candidates[0]


def _valid(iso: str) -> bool:
    try:
        date.fromisoformat(iso)
    except ValueError:
        return False
    return True


def extract_vendor(lines: list[str]) -> str | None:
    head = lines[:8]
    for line in head:
        if _COMPANY.search(line):
            return _clean_vendor(line)
    for line in head:
        letters = sum(c.isalpha() for c in line)
        if letters >= 4 and letters >= 0.5 * len(line.replace(" ", "")):
            return _clean_vendor(line)
    return None


def _clean_vendor(line: str) -> str:
    line = re.sub(r"\(?\b\d{5,}[-\s]?[A-Z]?\)?\s*$", "", line)  # trailing company reg. no.
    return " ".join(line.split()).strip(" .,:;-")


def extract_invoice_number(text: str) -> str | None:
    m = _INVOICE_NO.search(text)
    return m.group(1) if m else None


def _currency(text: str) -> str | None:
    if re.search(r"\bRM\b|\bMYR\b", text):
        return "MYR"
    if "€" in text or re.search(r"\bEUR\b", text):
        return "EUR"
    if "£" in text or re.search(r"\bGBP\b", text):
        return "GBP"
    if "$" in text or re.search(r"\bUSD\b", text):
        return "USD"
    return None
