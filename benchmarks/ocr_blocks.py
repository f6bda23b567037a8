"""Long pages: does choosing the reading per block, or per word, beat stock Tesseract?
Cross-validated, on the multi-block pages of ../shared/data/ocr (scribe and tesseract_test).

    python benchmarks/ocr_blocks.py            # every multi-block page with a reference
    python benchmarks/ocr_blocks.py --quick    # 3 pages per collection

Every page is read once as stock does (``tesseract FILE stdout --psm 3``: the layout, its
blocks and their order) and once per candidate variant: psm 4, 6 and 11 on the page as
given, CLAHE, and the page upscaled 1.5x and 2x (bicubic). Word boxes are mapped back to the
page and cached (``$OCR_BLOCKS_CACHE``, default ``/tmp/armillary-ocr-blocks``). Three
choosers, each never looking at the reference:

- **page**: the whole-page reading with the best confidence (AUTO's rule per page);
- **block**: stock's blocks in stock's order; per block, the words any variant read inside
  the block's box, kept when they score higher by ``gain`` points and keep ``share`` of
  the block's characters;
- **word**: stock's words in stock's order; a word is replaced by the one word a variant read
  over it (box IoU >= 0.5) when that word's confidence is ``gain`` points higher.

A chooser's configuration (variant set, ``gain``, ``share``) is chosen on the training pages
(pooled CER, ties to stock) and scored on the held-out page: leave one page out. CER is
whitespace-collapsed, case-insensitive; "bag of words" counts words missed plus words added
(``actors.ocr.metrics.bag_of_words_error``): the same words in any order score 0, so it
tells recognition from reading order, which the CER of multi-column and table pages mostly
measures (the scribe references list a table column by column; see SOURCE.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ocr_variants import PageJob, manifest_jobs

from actors.ocr.metrics import bag_of_words_error, levenshtein, normalize_text

DATA = Path(os.environ.get("ARMILLARY_SHARED_DIR",
                           Path(__file__).resolve().parents[2] / "shared")) / "data" / "ocr"
CACHE = Path(os.environ.get("OCR_BLOCKS_CACHE", "/tmp/armillary-ocr-blocks"))
COLLECTIONS = ("scribe_benchmark", "tesseract_test")
# name -> (scale, clahe, psm); "stock" is the page file as given with psm 3.
VARIANTS: dict[str, tuple[float, bool, int]] = {
    "psm4": (1.0, False, 4), "psm6": (1.0, False, 6), "psm11": (1.0, False, 11),
    "clahe": (1.0, True, 3), "x1.5": (1.5, False, 3), "x2": (2.0, False, 3),
}
MIN_BLOCKS = 2
WORD_IOU = 0.5
# A word: text, left, top, width, height, confidence, block, paragraph, line.
WordRow = tuple[str, float, float, float, float, float, int, int, int]


def read_variant(path: Path, name: str) -> list[WordRow]:
    """The words of ``path`` read as variant ``name`` (boxes in page pixels), cached."""
    from actors.ocr.recognize import recognize

    key = hashlib.sha256(path.read_bytes()).hexdigest()[:24]
    cached = CACHE / key / f"{name}.json"
    if cached.exists():
        return [tuple(w) for w in json.loads(cached.read_text())]  # type: ignore[misc]
    if name == "stock":
        rec = recognize(None, psm=3, encoded=path.read_bytes(), timeout_s=900)
        scale = 1.0
    else:
        import cv2
        from PIL import Image

        from actors.ocr import preprocess as pp

        scale, clahe, psm = VARIANTS[name]
        image = np.array(Image.open(path).convert("L"))
        if clahe:
            image = pp.clahe(image)
        if scale != 1.0:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        dpi = Image.open(path).info.get("dpi", (None,))[0]
        rec = recognize(image, psm=psm, dpi=dpi * scale if dpi else None, timeout_s=900)
    words = [(w.text, w.left / scale, w.top / scale, w.width / scale, w.height / scale,
              w.confidence, w.block, w.paragraph, w.line) for w in rec.words]
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps(words))
    tmp.replace(cached)
    return words  # type: ignore[return-value]


@dataclass
class Page:
    name: str
    collection: str
    reference: str  # normalised
    readings: dict[str, list[WordRow]]


def load_page(job: PageJob) -> Page:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    path = DATA / job.file
    readings = {name: read_variant(path, name) for name in ("stock", *VARIANTS)}
    return Page(Path(job.file).stem, job.collection,
                normalize_text(job.gt, case_insensitive=True), readings)


# -- choosers (plain functions of the readings; no reference) ---------------------------------


def score(words: Sequence[WordRow]) -> tuple[float, int]:
    """Character-weighted confidence and character count (AUTO's page score)."""
    chars = sum(len(w[0]) for w in words)
    conf = sum(w[5] * len(w[0]) for w in words) / chars if chars else 0.0
    return conf, chars


def text_of(words: Sequence[WordRow]) -> str:
    lines: list[list[str]] = []
    last = None
    for w in words:
        if (w[6], w[7], w[8]) != last:
            lines.append([])
            last = (w[6], w[7], w[8])
        lines[-1].append(w[0])
    return "\n".join(" ".join(line) for line in lines)


def _centres(words: Sequence[WordRow]) -> np.ndarray:
    return np.array([[w[1] + w[3] / 2, w[2] + w[4] / 2] for w in words]).reshape(-1, 2)


def choose_page(page: Page, names: Sequence[str], gain: float, share: float) -> str:
    best = page.readings["stock"]
    best_score = score(best)
    for name in names:
        s = score(page.readings[name])
        if s[1] >= share * best_score[1] and s[0] > best_score[0] + gain:
            best, best_score = page.readings[name], s
    return text_of(best)


def choose_block(page: Page, names: Sequence[str], gain: float, share: float) -> str:
    base = page.readings["stock"]
    blocks: dict[int, list[WordRow]] = {}
    for w in base:
        blocks.setdefault(w[6], []).append(w)
    centres = {n: _centres(page.readings[n]) for n in names}
    parts = []
    for words in blocks.values():
        box = (min(w[1] for w in words) - 4, min(w[2] for w in words) - 4,
               max(w[1] + w[3] for w in words) + 4, max(w[2] + w[4] for w in words) + 4)
        best, best_score = words, score(words)
        for name in names:
            c = centres[name]
            inside = np.nonzero((c[:, 0] >= box[0]) & (c[:, 0] <= box[2])
                                & (c[:, 1] >= box[1]) & (c[:, 1] <= box[3]))[0]
            cand = [page.readings[name][i] for i in inside]
            s = score(cand)
            if s[1] >= share * best_score[1] and s[0] > best_score[0] + gain:
                best, best_score = cand, s
        parts.append(text_of(best))
    return "\n\n".join(parts)


def _boxes(words: Sequence[WordRow]) -> np.ndarray:
    return np.array([[w[1], w[2], w[1] + w[3], w[2] + w[4]] for w in words]).reshape(-1, 4)


def choose_word(page: Page, names: Sequence[str], gain: float, share: float) -> str:
    del share  # one word for one word
    base = list(page.readings["stock"])
    if not base:
        return ""
    b = _boxes(base)
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    conf = np.array([w[5] for w in base])
    for name in names:
        other = page.readings[name]
        if not other:
            continue
        o = _boxes(other)
        area_o = (o[:, 2] - o[:, 0]) * (o[:, 3] - o[:, 1])
        w_ = np.clip(np.minimum(b[:, None, 2], o[None, :, 2])
                     - np.maximum(b[:, None, 0], o[None, :, 0]), 0, None)
        h_ = np.clip(np.minimum(b[:, None, 3], o[None, :, 3])
                     - np.maximum(b[:, None, 1], o[None, :, 1]), 0, None)
        inter = w_ * h_
        iou = inter / np.maximum(area_b[:, None] + area_o[None, :] - inter, 1e-9)
        matched = iou >= WORD_IOU
        for i in np.nonzero(matched.sum(axis=1) == 1)[0]:
            j = int(np.argmax(matched[i]))
            if other[j][5] > conf[i] + gain:
                base[i] = (other[j][0], *base[i][1:5], other[j][5], *base[i][6:])  # type: ignore[assignment]
                conf[i] = other[j][5]
    return text_of(base)


Chooser = Callable[[Page, Sequence[str], float, float], str]
CHOOSERS: dict[str, Chooser] = {"page": choose_page, "block": choose_block,
                                "word": choose_word}


def configs() -> list[tuple[tuple[str, ...], float, float]]:
    """(variant names, gain, share); the first is stock (no variant)."""
    sets = [(), *((n,) for n in VARIANTS), tuple(VARIANTS)]
    return [(names, gain, share) for names, gain, share in
            product(sets, (0.0, 5.0, 20.0), (0.8, 0.95)) if names or (gain, share) == (0, 0.8)]


# -- evaluation ---------------------------------------------------------------------------------


@dataclass
class Errors:
    """Per page: CER edit errors, bag-of-words error, reference length."""

    edits: np.ndarray
    bow: np.ndarray
    lengths: np.ndarray

    def pooled(self, ix: np.ndarray | None = None) -> float:
        ix = np.arange(len(self.edits)) if ix is None else ix
        return float(self.edits[ix].sum() / self.lengths[ix].sum())

    def per_page(self) -> float:
        return float(np.mean(self.edits / self.lengths))


def errors_of(pages: Sequence[Page], texts: Sequence[str]) -> Errors:
    edits, bows = [], []
    for page, text in zip(pages, texts, strict=True):
        hyp = normalize_text(text, case_insensitive=True)
        edits.append(levenshtein(page.reference, hyp))
        bows.append(bag_of_words_error(page.reference, hyp))
    return Errors(np.array(edits, float), np.array(bows), np.array(
        [max(1, len(p.reference)) for p in pages], float))


def leave_one_page_out(table: list[Errors]) -> tuple[Errors, list[int]]:
    """Per held-out page, the configuration with the lowest pooled training CER (ties to the
    first, stock) and that configuration's errors on the page."""
    n = len(table[0].edits)
    picks, edits, bows = [], [], []
    for held in range(n):
        train = np.array([i for i in range(n) if i != held])
        best = min(range(len(table)), key=lambda c: (round(table[c].pooled(train), 9), c))
        picks.append(best)
        edits.append(table[best].edits[held])
        bows.append(table[best].bow[held])
    return Errors(np.array(edits), np.array(bows), table[0].lengths), picks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 pages per collection")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not (DATA / "manifest.csv").exists():
        print(f"no data at {DATA}", file=sys.stderr)
        return 1
    load0 = os.getloadavg()[0]
    started = time.perf_counter()
    jobs = [j for j in manifest_jobs(DATA, 3 if args.quick else None)
            if j.collection in COLLECTIONS]
    with ProcessPoolExecutor(args.workers) as pool:
        pages = [p for p in pool.map(load_page, jobs)
                 if len({w[6] for w in p.readings["stock"]}) >= MIN_BLOCKS]
    print(f"{len(pages)} multi-block pages ({', '.join(COLLECTIONS)}); load average "
          f"{load0:.2f} at start")
    grid = configs()
    stock = errors_of(pages, [text_of(p.readings["stock"]) for p in pages])
    rows: list[dict[str, Any]] = [{
        "reading": "stock `tesseract --psm 3`", "in-sample best": "-",
        "CER pooled": stock.pooled(), "CER per page": stock.per_page(),
        "bag of words": float(stock.bow.mean())}]
    for single in VARIANTS:
        e = errors_of(pages, [text_of(p.readings[single]) for p in pages])
        rows.append({"reading": f"whole page {single}", "in-sample best": "-",
                     "CER pooled": e.pooled(), "CER per page": e.per_page(),
                     "bag of words": float(e.bow.mean())})
    for chooser_name, chooser in CHOOSERS.items():
        table = [errors_of(pages, [chooser(p, names, gain, share) for p in pages])
                 for names, gain, share in grid]
        best = min(range(len(grid)), key=lambda c: (round(table[c].pooled(), 9), c))
        held, picks = leave_one_page_out(table)
        names, gain, share = grid[best]
        label = f"{'+'.join(names) or 'stock'} gain {gain:g} share {share:g}"
        rows.append({"reading": f"{chooser_name} chooser, in-sample best", "in-sample best":
                     label, "CER pooled": table[best].pooled(),
                     "CER per page": table[best].per_page(),
                     "bag of words": float(table[best].bow.mean())})
        rows.append({"reading": f"{chooser_name} chooser, leave one page out",
                     "in-sample best": f"{sum(p != 0 for p in picks)}/{len(picks)} folds "
                     "chose a variant", "CER pooled": held.pooled(),
                     "CER per page": held.per_page(), "bag of words": float(held.bow.mean())})
    print("\n| reading | configuration | CER pooled | vs stock | CER per page | bag of words |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['reading']} | {r['in-sample best']} | {r['CER pooled']:.4f} | "
              f"{r['CER pooled'] / stock.pooled():.3f}x | {r['CER per page']:.4f} | "
              f"{r['bag of words']:.4f} |")
    print("\nper page, stock CER / bag of words:")
    for p, e, b in zip(pages, stock.edits / stock.lengths, stock.bow, strict=True):
        print(f"  {p.name:22s} {e:.3f} / {b:.3f}")
    print(f"\nwall {time.perf_counter() - started:.1f} s; load average "
          f"{os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
