"""Character and word error rates (the manifest's definition: whitespace collapsed to single
spaces, CER = Levenshtein distance / reference length), and an order-free word error for
pages whose reference reading order is arbitrary (tables, multi-column layouts: see
``../shared/data/ocr/SOURCE.md``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np


def normalize_text(text: str, *, case_insensitive: bool = False) -> str:
    text = " ".join(text.split())
    return text.lower() if case_insensitive else text


def levenshtein(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Edit distance (insert/delete/substitute, cost 1), O(len(a)*len(b)) with numpy rows."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    codes: dict[Hashable, int] = {}
    b_codes = np.array([codes.setdefault(x, len(codes)) for x in b], dtype=np.int64)
    a_codes = [codes.setdefault(x, len(codes)) for x in a]
    n = len(b)
    idx = np.arange(n + 1, dtype=np.int64)
    prev = idx.copy()
    for i, ca in enumerate(a_codes, start=1):
        sub = prev[:-1] + (b_codes != ca)
        dele = prev[1:] + 1
        cur = np.empty(n + 1, dtype=np.int64)
        cur[0] = i
        cur[1:] = np.minimum(sub, dele)
        # Insertions: cur[j] = min(cur[j], cur[j-1] + 1) as a running minimum of cur[k] - k.
        cur = np.minimum.accumulate(cur - idx) + idx
        prev = cur
    return int(prev[-1])


def cer(reference: str, hypothesis: str, *, case_insensitive: bool = False) -> float:
    ref = normalize_text(reference, case_insensitive=case_insensitive)
    hyp = normalize_text(hypothesis, case_insensitive=case_insensitive)
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)


def wer(reference: str, hypothesis: str, *, case_insensitive: bool = False) -> float:
    ref = normalize_text(reference, case_insensitive=case_insensitive).split()
    hyp = normalize_text(hypothesis, case_insensitive=case_insensitive).split()
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)


def bag_of_words_counts(reference: str, hypothesis: str, *,
                        case_insensitive: bool = False) -> tuple[int, int]:
    """(words missed plus words not in the reference, the reference's word count), with words
    compared as multisets: no error when the same words were read in any order."""
    ref = Counter(normalize_text(reference, case_insensitive=case_insensitive).split())
    hyp = Counter(normalize_text(hypothesis, case_insensitive=case_insensitive).split())
    return sum((ref - hyp).values()) + sum((hyp - ref).values()), sum(ref.values())


def bag_of_words_error(reference: str, hypothesis: str, *,
                       case_insensitive: bool = False) -> float:
    """:func:`bag_of_words_counts` as a rate over the reference's words: 0 when the same
    words were read in any order. A substituted word counts twice (one missed, one
    spurious), unlike WER."""
    errors, total = bag_of_words_counts(reference, hypothesis,
                                        case_insensitive=case_insensitive)
    if not total:
        return 0.0 if not errors else 1.0
    return errors / total
