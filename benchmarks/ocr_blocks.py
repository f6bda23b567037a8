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
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import astuple, dataclass, replace
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ocr_variants import PageJob, manifest_jobs

from actors.ocr.crossval import Scores
from actors.ocr.metrics import bag_of_words_error, levenshtein, normalize_text
from actors.ocr.models import Word
from actors.ocr.pipeline import pick
from actors.ocr.recognize import Recognition

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


def _recognise(data: bytes, name: str) -> list[Word]:
    """The words of the page file ``data`` read as variant ``name``, boxes in page pixels."""
    import cv2
    from PIL import Image

    from actors.ocr import preprocess as pp
    from actors.ocr.recognize import recognize

    if name == "stock":
        return recognize(None, psm=3, encoded=data, timeout_s=900).words
    scale, clahe, psm = VARIANTS[name]
    source = Image.open(io.BytesIO(data))
    image = np.array(source.convert("L"))
    if clahe:
        image = pp.clahe(image)
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    dpi = source.info.get("dpi", (None,))[0]
    rec = recognize(image, psm=psm, dpi=dpi * scale if dpi else None, timeout_s=900)
    return [replace(w, left=w.left / scale, top=w.top / scale,  # type: ignore[arg-type]
                    width=w.width / scale, height=w.height / scale) for w in rec.words]


def read_variants(path: Path) -> dict[str, Recognition]:
    """Every reading of the page file ``path`` (stock and :data:`VARIANTS`), cached per
    file content and variant."""
    data = path.read_bytes()
    folder = CACHE / hashlib.sha256(data).hexdigest()[:24]
    readings = {}
    for name in ("stock", *VARIANTS):
        cached = folder / f"{name}.json"
        if cached.exists():
            words = [Word(*row) for row in json.loads(cached.read_text())]
        else:
            words = _recognise(data, name)
            folder.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_text(json.dumps([astuple(w) for w in words]))
            tmp.replace(cached)
        readings[name] = Recognition(words, text="")
    return readings


@dataclass
class Page:
    name: str
    collection: str
    reference: str  # normalised
    readings: dict[str, Recognition]


def load_page(job: PageJob) -> Page:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    return Page(Path(job.file).stem, job.collection,
                normalize_text(job.gt, case_insensitive=True), read_variants(DATA / job.file))


# -- choosers (plain functions of the readings; no reference) ---------------------------------


def _score(words: list[Word]) -> tuple[float, int]:
    """AUTO's page score (character-weighted confidence) and character count of ``words``."""
    rec = Recognition(words, text="")
    return rec.score, rec.char_count


def text_of(words: Sequence[Word]) -> str:
    lines: list[list[str]] = []
    last = None
    for w in words:
        if (w.block, w.paragraph, w.line) != last:
            lines.append([])
            last = (w.block, w.paragraph, w.line)
        lines[-1].append(w.text)
    return "\n".join(" ".join(line) for line in lines)


def _centres(words: Sequence[Word]) -> np.ndarray:
    return np.array([[w.left + w.width / 2, w.top + w.height / 2] for w in words]).reshape(-1, 2)


def choose_page(page: Page, names: Sequence[str], gain: float, share: float) -> str:
    readings = [page.readings[n].words for n in ("stock", *names)]
    best = pick([_score(words) for words in readings], min_gain=gain, min_char_share=share)
    return text_of(readings[best])


def choose_block(page: Page, names: Sequence[str], gain: float, share: float) -> str:
    blocks: dict[int, list[Word]] = {}
    for w in page.readings["stock"].words:
        blocks.setdefault(w.block, []).append(w)
    centres = {n: _centres(page.readings[n].words) for n in names}
    parts = []
    for words in blocks.values():
        box = (min(w.left for w in words) - 4, min(w.top for w in words) - 4,
               max(w.left + w.width for w in words) + 4,
               max(w.top + w.height for w in words) + 4)
        readings = [words]
        for name in names:
            c = centres[name]
            inside = np.nonzero((c[:, 0] >= box[0]) & (c[:, 0] <= box[2])
                                & (c[:, 1] >= box[1]) & (c[:, 1] <= box[3]))[0]
            readings.append([page.readings[name].words[i] for i in inside])
        best = pick([_score(r) for r in readings], min_gain=gain, min_char_share=share)
        parts.append(text_of(readings[best]))
    return "\n\n".join(parts)


def _boxes(words: Sequence[Word]) -> np.ndarray:
    return np.array([[w.left, w.top, w.left + w.width, w.top + w.height]
                     for w in words]).reshape(-1, 4)


def choose_word(page: Page, names: Sequence[str], gain: float, share: float) -> str:
    del share  # one word for one word
    base = list(page.readings["stock"].words)
    if not base:
        return ""
    b = _boxes(base)
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    conf = np.array([w.confidence for w in base])
    for name in names:
        other = page.readings[name].words
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
            if other[j].confidence > conf[i] + gain:
                base[i] = replace(base[i], text=other[j].text, confidence=other[j].confidence)
                conf[i] = other[j].confidence
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

    def cer(self, ix: np.ndarray | None = None) -> Scores:
        """Per-page and pooled CER of the pages ``ix`` (all by default)."""
        ix = np.arange(len(self.edits)) if ix is None else ix
        return Scores.of(self.edits[ix], self.lengths[ix])


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
        best = min(range(len(table)), key=lambda c: (round(table[c].cer(train).pooled, 9), c))
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
                 if len({w.block for w in p.readings["stock"].words}) >= MIN_BLOCKS]
    print(f"{len(pages)} multi-block pages ({', '.join(COLLECTIONS)}); load average "
          f"{load0:.2f} at start")
    grid = configs()
    stock = errors_of(pages, [text_of(p.readings["stock"].words) for p in pages])
    rows: list[dict[str, Any]] = [{
        "reading": "stock `tesseract --psm 3`", "in-sample best": "-",
        "CER pooled": stock.cer().pooled, "CER per page": stock.cer().per_page,
        "bag of words": float(stock.bow.mean())}]
    for single in VARIANTS:
        e = errors_of(pages, [text_of(p.readings[single].words) for p in pages])
        rows.append({"reading": f"whole page {single}", "in-sample best": "-",
                     "CER pooled": e.cer().pooled, "CER per page": e.cer().per_page,
                     "bag of words": float(e.bow.mean())})
    for chooser_name, chooser in CHOOSERS.items():
        table = [errors_of(pages, [chooser(p, names, gain, share) for p in pages])
                 for names, gain, share in grid]
        best = min(range(len(grid)), key=lambda c: (round(table[c].cer().pooled, 9), c))
        held, picks = leave_one_page_out(table)
        names, gain, share = grid[best]
        label = f"{'+'.join(names) or 'stock'} gain {gain:g} share {share:g}"
        rows.append({"reading": f"{chooser_name} chooser, in-sample best", "in-sample best":
                     label, "CER pooled": table[best].cer().pooled,
                     "CER per page": table[best].cer().per_page,
                     "bag of words": float(table[best].bow.mean())})
        rows.append({"reading": f"{chooser_name} chooser, leave one page out",
                     "in-sample best": f"{sum(p != 0 for p in picks)}/{len(picks)} folds "
                     "chose a variant", "CER pooled": held.cer().pooled,
                     "CER per page": held.cer().per_page, "bag of words": float(held.bow.mean())})
    print("\n| reading | configuration | CER pooled | vs stock | CER per page | bag of words |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['reading']} | {r['in-sample best']} | {r['CER pooled']:.4f} | "
              f"{r['CER pooled'] / stock.cer().pooled:.3f}x | {r['CER per page']:.4f} | "
              f"{r['bag of words']:.4f} |")
    print("\nper page, stock CER / bag of words:")
    for p, e, b in zip(pages, stock.edits / stock.lengths, stock.bow, strict=True):
        print(f"  {p.name:22s} {e:.3f} / {b:.3f}")
    print(f"\nwall {time.perf_counter() - started:.1f} s; load average "
          f"{os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
