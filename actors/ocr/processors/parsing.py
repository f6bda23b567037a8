"""Normalisation helpers shared by processors: dates -> ISO strings, amounts -> Decimal.

Dates are read day-first (``25/12/2018``, ``20-02-18``, ``05 MAR 2018``) unless the year
comes first (``2018-12-25``) or the month can only be the first number (``12/25/2018``).
OCR text often has a letter for a digit inside a date (``D2/O2/17``, ``2O-O6-2Ol8``) or stray
quotes and spaces around the separators (``20- “06- 2018``): numeric dates are also read with
those letters mapped to the digits they are confused with, when the result is a valid date
and most of its characters were digits already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH_RE = r"(jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?"

_NUMERIC_YMD = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC_DMY = re.compile(
    r"(?<![\d.])(\d{1,2})\s?[-/.]\s?(\d{1,2})\s?[-/.]\s?(\d{4}|\d{2})(?![\d])"
)
_TEXT_DMY = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?[\s\-/.]*{_MONTH_RE}[\s\-/.,]*(\d{{4}}|\d{{2}})(?!\d)",
    re.IGNORECASE,
)
# Letters OCR reads for digits (and one junk character) in a digit context.
_CONFUSABLE = str.maketrans({
    "O": "0", "o": "0", "Q": "0", "D": "0", "U": "0",
    "I": "1", "l": "1", "i": "1", "|": "1", "!": "1", "L": "1",
    "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "G": "6", "b": "6", "g": "9",
})
_D = r"[0-9OoQDUIli|!LZzSsBGbg]"
_SEP = r"[\s\"“”'‘’`,]{0,2}[-/.][\s\"“”'‘’`,]{0,2}"
_FUZZY_DMY = re.compile(
    rf"(?<![\d.])({_D}{{1,2}}){_SEP}({_D}{{1,2}}){_SEP}({_D}{{4}}|{_D}{{2}})(?![\w])"
)
# A repaired date keeps at least this many real digits (``SO/OS/IS`` is no date).
_MIN_REAL_DIGITS = 4
_TEXT_MDY = re.compile(rf"\b{_MONTH_RE}\s*(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)",
                       re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    value: str
    start: int
    end: int


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _make(y: int, m: int, d: int) -> str | None:
    if not 1900 <= y <= 2100:
        return None
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def _day_first(day: str, month: str, year: str) -> str | None:
    a, b, y = int(day), int(month), _year(year)
    return _make(y, b, a) or _make(y, a, b)


def find_dates(text: str) -> list[Found]:
    """All dates in ``text`` as ISO ``YYYY-MM-DD`` strings, in order of appearance."""
    found: list[Found] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, iso: str | None) -> None:
        if iso and not any(s < end and start < e for s, e in taken):
            taken.append((start, end))
            found.append(Found(iso, start, end))

    for m in _NUMERIC_YMD.finditer(text):
        add(m.start(), m.end(), _make(int(m[1]), int(m[2]), int(m[3])))
    for m in _TEXT_DMY.finditer(text):
        add(m.start(), m.end(), _make(_year(m[3]), _MONTHS[m[2].lower()[:3]], int(m[1])))
    for m in _TEXT_MDY.finditer(text):
        month = _MONTHS[m[1].lower()[:3]]
        add(m.start(), m.end(), _make(int(m[3]), month, int(m[2])))
    for m in _NUMERIC_DMY.finditer(text):
        add(m.start(), m.end(), _day_first(m[1], m[2], m[3]))
    for m in _FUZZY_DMY.finditer(text):
        groups = [g.translate(_CONFUSABLE) for g in m.groups()]
        if sum(c.isdigit() for c in "".join(m.groups())) >= _MIN_REAL_DIGITS:
            add(m.start(), m.end(), _day_first(*groups))
    found.sort(key=lambda f: f.start)
    return found


def parse_date(text: str) -> str | None:
    """The first date in ``text`` as ISO, or None."""
    dates = find_dates(text)
    return dates[0].value if dates else None


_AMOUNT = re.compile(
    r"(?P<cur>RM|\$|USD|EUR|€|£|MYR)?\s?(?P<num>-?\d{1,3}(?:[,\s]\d{3})*[.,]\d{2}|-?\d+[.,]\d{2})(?!\d)",
    re.IGNORECASE,
)


def find_amounts(text: str) -> list[Found]:
    """Money amounts with two decimals (``12.50``, ``RM 5.90``, ``$8.20``, ``1,234.00``) as
    normalised Decimal strings, in order of appearance."""
    out: list[Found] = []
    for m in _AMOUNT.finditer(text):
        value = parse_amount(m["num"])
        if value is not None:
            out.append(Found(value, m.start(), m.end()))
    return out


def parse_amount(text: str) -> str | None:
    """``'$1,234.50'`` -> ``'1234.50'``; None when there is no amount."""
    cleaned = re.sub(r"[^\d.,\-]", "", text)
    if not cleaned:
        return None
    if re.search(r",\d{2}$", cleaned) and "." not in cleaned[-3:]:
        cleaned = cleaned[:-3].replace(".", "").replace(",", "") + "." + cleaned[-2:]
    else:
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return str(value.quantize(Decimal("0.01")))
