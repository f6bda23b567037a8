"""Generic text analysis for any document: language guess, counts, key phrases, dates,
amounts, e-mail addresses and URLs. Pure Python, no models (stop-word profiles)."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from typing import Any

from actors.ocr.processors.base import ProcessorInput
from actors.ocr.processors.parsing import find_amounts, find_dates

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be",
            "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but",
            "have", "an", "they", "you", "were", "her", "she", "there", "been", "one", "all", "we",
            "their", "has", "would", "will", "its", "if", "can", "our", "more", "when", "who",
            "what", "so", "no", "may",
        ]
    ),
    "de": frozenset(
        [
            "der", "die", "und", "in", "den", "von", "zu", "das", "mit", "sich", "des", "auf",
            "für", "ist", "im", "dem", "nicht", "ein", "eine", "als", "auch", "es", "an", "werden",
            "aus", "er", "hat", "dass", "sie", "nach", "wird", "bei", "einer", "um", "am", "sind",
            "noch", "wie", "einem", "über", "einen", "so", "zum", "war", "haben", "nur", "oder",
            "aber", "vor", "zur", "bis",
        ]
    ),
    "fr": frozenset(
        [
            "le", "de", "la", "et", "les", "des", "en", "un", "du", "une", "est", "que", "pour",
            "qui", "dans", "par", "sur", "au", "pas", "plus", "ne", "ce", "il", "se", "avec",
            "sont", "aux", "son", "sa", "ou", "elle", "nous", "vous", "mais", "ont", "été", "cette",
            "ces", "leur",
        ]
    ),
    "es": frozenset(
        [
            "de", "la", "que", "el", "en", "y", "los", "del", "se", "las", "por", "un", "para",
            "con", "no", "una", "su", "al", "lo", "como", "más", "pero", "sus", "le", "ya", "o",
            "este", "sí", "porque", "esta", "entre", "cuando", "muy", "sin", "sobre", "también",
            "me", "hasta", "hay", "donde",
        ]
    ),
    "it": frozenset(
        [
            "di", "e", "il", "la", "che", "in", "per", "un", "del", "non", "una", "con", "sono",
            "le", "da", "si", "dei", "nel", "alla", "gli", "della", "più", "anche", "come", "ma",
            "ha", "lo", "ci", "questo", "delle", "nella", "al", "essere", "sua", "suo",
        ]
    ),
    "pt": frozenset(
        [
            "de", "a", "o", "que", "e", "do", "da", "em", "um", "para", "com", "não", "uma", "os",
            "no", "se", "na", "por", "mais", "as", "dos", "como", "mas", "ao", "ele", "das", "seu",
            "sua", "ou", "quando", "muito", "nos", "já", "também", "só", "pelo", "pela", "até",
            "isso",
        ]
    ),
    "nl": frozenset(
        [
            "de", "en", "van", "het", "een", "in", "is", "dat", "op", "te", "zijn", "met", "voor",
            "niet", "die", "aan", "er", "maar", "om", "ook", "als", "dan", "bij", "nog", "wel",
            "door", "naar", "uit", "over", "tot", "je", "hij", "ze", "wordt", "werd", "heeft",
            "deze",
        ]
    ),
}
_ALL_STOP = frozenset().union(*_STOPWORDS.values())
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)


def guess_language(words: list[str]) -> tuple[str | None, float]:
    """(ISO 639-1 code, share of words that are that language's stop words)."""
    lowered = [w.lower() for w in words]
    if len(lowered) < 5:
        return None, 0.0
    scores = {lang: sum(w in stop for w in lowered) / len(lowered)
              for lang, stop in _STOPWORDS.items()}
    lang, share = max(scores.items(), key=lambda kv: kv[1])
    if share < 0.05:
        return None, share
    return lang, round(share, 3)


def key_phrases(words: list[str], top: int = 10) -> list[str]:
    """Most frequent content bigrams (seen twice or more), then content words."""
    content = [w.lower() for w in words]
    bigrams = Counter(
        f"{a} {b}" for a, b in pairwise(content)
        if a not in _ALL_STOP and b not in _ALL_STOP and len(a) > 2 and len(b) > 2
    )
    phrases = [p for p, n in bigrams.most_common(top) if n >= 2]
    singles = Counter(w for w in content if w not in _ALL_STOP and len(w) > 3)
    for word, _ in singles.most_common(top * 2):
        if len(phrases) >= top:
            break
        if not any(word in p.split() for p in phrases):
            phrases.append(word)
    return phrases[:top]


class TextAnalysisProcessor:
    name = "text"

    def detect(self, doc: ProcessorInput) -> bool:
        return bool(doc.text.strip())

    def extract(self, doc: ProcessorInput) -> dict[str, Any]:
        words = _WORD.findall(doc.text)
        language, share = guess_language(words)
        return {
            "language": language,
            "language_score": share,
            "word_count": len(words),
            "char_count": len(doc.text),
            "line_count": len(doc.lines),
            "key_phrases": key_phrases(words),
            "dates": sorted({d.value for d in find_dates(doc.text)}),
            "amounts": [a.value for a in find_amounts(doc.text)][:50],
            "emails": sorted(set(_EMAIL.findall(doc.text))),
            "urls": sorted(set(_URL.findall(doc.text))),
        }
