"""OCR accuracy on ../shared/data/ocr: AUTO's defaults chosen by cross-validation, against
stock Tesseract in the same run.

    python benchmarks/ocr_accuracy.py            # the 41 manifest pages with a reference
    python benchmarks/ocr_accuracy.py --quick    # 3 pages per collection

Each page is recognised once per candidate variant and cached on disk
(``benchmarks/ocr_variants.py``: ``$OCR_VARIANT_CACHE``, default ``/tmp/h14ocr-cache``);
every configuration is then replayed arithmetically (``actors/ocr/crossval.py``: the same
variant order and :func:`actors.ocr.pipeline.pick` rule as AUTO). Stock = ``tesseract FILE
stdout -l eng --psm 3``.

CER: whitespace collapsed, case-insensitive (SROIE truth is upper case), Levenshtein /
reference length; "per page" is the mean of the pages' CERs, "pooled" is all edit errors
over all reference characters (long pages weigh by their length).

Tables:

1. Per default (knob), the others at the code's defaults: in-sample CER of each value on all
   pages, and the cross-validated CER of choosing the value on the training folds (leave one
   page out, LOPO; leave one collection out, LOCO) scored on the held-out pages. "helps"
   = the cross-validated choice beats "off" on both means; only those are kept as defaults.
2. Headline per collection: stock, the page as given (AUTO's first pass), AUTO with the
   code's defaults (in-sample for the defaults that were tuned on these pages) and AUTO with
   the defaults the keep rule (table 1) sets on the training pages only, scored held out
   (nested cross-validation of the whole procedure).
3. The same readings scored by bag-of-words error (words missed plus words added, in any
   order, over the reference's words): recognition without reading order, which the CER of
   tables and multi-column pages mostly measures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocr_variants import PageJob, is_cached, manifest_jobs, page_variants

from actors.ocr.crossval import (
    KNOBS,
    PageVariants,
    Scores,
    _Evaluator,
    ablation,
    config_of,
    cross_validated,
    folds,
    kept_defaults,
    neutral,
    subset,
)
from actors.ocr.metrics import bag_of_words_counts
from actors.ocr.options import OcrOptions

DATA = Path(os.environ.get("ARMILLARY_SHARED_DIR",
                           Path(__file__).resolve().parents[2] / "shared")) / "data" / "ocr"
SCHEMES = ("page", "collection")
# Kept whatever the rule says: OSD rotation fixes the one upside-down page here, which no
# training fold without it can vote for; the confidence gate saves passes and changes no
# page's CER between 85 and 101 (table 1).
FIXED = ("rotation", "confident_score")


def to_pages(results: list[dict[str, Any]]) -> list[PageVariants]:
    pages = []
    for r in results:
        recs = r["records"]
        variants = {n: (rec["score"], rec["chars"], rec["errors"]) for n, rec in recs.items()
                    if n != "stock"}
        pages.append(PageVariants(f"{r['file']}#{r['page'] + 1}", r["collection"],
                                  max(1, r["ref_len"]), variants, r["skewed"], r["narrow"],
                                  recs["stock"]["errors"], r["paragraphs"], r["sized"]))
    return pages


def _fmt(s: Scores) -> str:
    return f"{s.per_page:.4f}/{s.pooled:.4f}"


def to_word_pages(jobs: list[PageJob], results: list[dict[str, Any]],
                  pages: list[PageVariants]) -> list[PageVariants]:
    """``pages`` (of ``results``, for ``jobs``) scored by their words in any order: per
    variant, the words missed plus the words added over the reference's word count
    (:func:`bag_of_words_counts`). Reading order does not count here, unlike in the CER: on
    multi-column pages and tables it tells recognition from order."""
    out = []
    for job, result, page in zip(jobs, results, pages, strict=True):
        counts = {n: bag_of_words_counts(job.gt, rec["text"], case_insensitive=True)
                  for n, rec in result["records"].items()}
        variants = {n: (score, chars, counts[n][0])
                    for n, (score, chars, _) in page.variants.items()}
        out.append(replace(page, ref_len=max(1, counts["stock"][1]), variants=variants,
                           stock_errors=counts["stock"][0]))
    return out


def word_table(pages: list[PageVariants], picked: dict[str, list[dict[str, Any]]]
               ) -> dict[str, Any]:
    """Table 2's readings (the same variant per page, the same configurations per fold)
    scored by bag-of-words error."""
    evaluate = _Evaluator(pages)
    rows: dict[str, np.ndarray] = {
        "stock tesseract": np.array([p.stock_errors for p in pages], dtype=float),
        "AUTO, code defaults (in-sample)": evaluate(config_of(OcrOptions())),
    }
    for scheme, configs in picked.items():
        errs = np.zeros(len(pages))
        for test, config in zip(folds(pages, scheme), configs, strict=True):
            errs[test] = evaluate(config)[test]
        rows[f"AUTO, keep rule, {'LOPO' if scheme == 'page' else 'LOCO'} (nested cv)"] = errs
    print("\n3. Bag-of-words error (words missed + words added, any order) per-page mean /"
          " pooled over reference words, by collection: table 2's readings")
    return _by_collection(pages, rows)


def _by_collection(pages: list[PageVariants], rows: dict[str, np.ndarray]) -> dict[str, Any]:
    ref = np.array([p.ref_len for p in pages], dtype=float)
    groups = {"ALL": np.arange(len(pages))}
    for c in sorted({p.collection for p in pages}):
        groups[c] = np.array([i for i, p in enumerate(pages) if p.collection == c])
    print(f"{'reading':40} " + " ".join(f"{g[:16] + f' ({len(ix)})':>22}"
                                         for g, ix in groups.items()))
    out: dict[str, Any] = {}
    for name, errs in rows.items():
        cells = {g: Scores.of(errs[ix], ref[ix]) for g, ix in groups.items()}
        out[name] = {g: vars(s) for g, s in cells.items()}
        print(f"{name:40} " + " ".join(f"{_fmt(s):>22}" for s in cells.values()))
    return out


def knob_table(pages: list[PageVariants], evaluate: _Evaluator) -> list[dict[str, Any]]:
    default = config_of(OcrOptions())
    rows = []
    print("\n1. Ablation per default, others at the code's defaults. CER per-page mean/pooled."
          "\n   in-sample: on all pages; LOPO/LOCO: value chosen on the training folds,"
          " scored held out")
    print(f"{'knob':16} {'default':>8} {'off in-sample':>15} {'best in-sample':>22} "
          f"{'default in-sample':>17} {'LOPO (cv)':>15} {'LOCO (cv)':>15} {'helps':>9} "
          f"{'keep':>6} {'LOPO picks':>24}")
    for knob in KNOBS:
        rep = ablation(pages, knob, default, SCHEMES, evaluate=evaluate)
        best = min(rep.in_sample, key=lambda v: rep.in_sample[v].per_page)
        helps = "/".join("y" if rep.helps(s) else "n" for s in SCHEMES)
        picks = ",".join(f"{v}:{n}" for v, n in rep.picks["page"].items())
        print(f"{knob.name:16} {rep.default!s:>8} {_fmt(rep.in_sample[rep.off]):>15} "
              f"{str(best) + ' ' + _fmt(rep.in_sample[best]):>22} "
              f"{_fmt(rep.in_sample[rep.default]):>17} {_fmt(rep.cross_validated['page']):>15} "
              f"{_fmt(rep.cross_validated['collection']):>15} {helps:>9} {rep.keep()!s:>6} "
              f"{picks:>24}")
        rows.append({"knob": knob.name, "default": rep.default,
                     "in_sample": {str(v): vars(s) for v, s in rep.in_sample.items()},
                     "cv": {k: vars(s) for k, s in rep.cross_validated.items()},
                     "helps": {s: rep.helps(s) for s in SCHEMES}, "picks": {
                         s: {str(v): n for v, n in p.items()} for s, p in rep.picks.items()},
                     "chosen_all": rep.chosen_all, "keep": rep.keep()})
    differ = [r["knob"] for r in rows if r["keep"] != r["default"]]
    print("   helps = LOPO/LOCO cross-validated choice beats off; keep = the value chosen on"
          " all pages if it helps LOPO, else off")
    print(f"   code defaults that differ from keep: {differ or 'none'}")
    return rows


def headline(pages: list[PageVariants], evaluate: _Evaluator) -> dict[str, Any]:
    stock = np.array([p.stock_errors for p in pages], dtype=float)
    rows: dict[str, np.ndarray] = {
        "stock tesseract": stock,
        "page as given (AUTO 1st pass)": evaluate(neutral() | {"confident_score": 0.0}),
        "AUTO, code defaults (in-sample)": evaluate(config_of(OcrOptions())),
    }
    picked: dict[str, list[dict[str, Any]]] = {}
    start = config_of(OcrOptions())
    for scheme in SCHEMES:
        # Nested: the whole keep rule (its own LOPO and LOCO) run on the training pages only.
        errs, configs = cross_validated(
            pages, lambda train: kept_defaults([pages[i] for i in train], start, fixed=FIXED,
                                               evaluate=subset(evaluate, train)),
            scheme, evaluate)
        rows[f"AUTO, keep rule, {'LOPO' if scheme == 'page' else 'LOCO'} (nested cv)"] = errs
        picked[scheme] = configs
    print("\n2. CER per-page mean / pooled over characters, by collection")
    return {"rows": _by_collection(pages, rows), "cv_configs": picked}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="pages per collection")
    parser.add_argument("--quick", action="store_true", help="--limit 3")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cached-only", action="store_true",
                        help="only the pages whose variants are all in the cache (no OCR)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/ocr_accuracy.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.limit = 3
    if not (DATA / "manifest.csv").exists():
        print(f"no data at {DATA}", file=sys.stderr)
        return 1
    load0 = os.getloadavg()[0]
    jobs = manifest_jobs(DATA, args.limit)
    if args.cached_only:
        jobs = [j for j in jobs if is_cached(j, DATA)]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(page_variants, jobs, [DATA] * len(jobs)))
    pages = to_pages(results)
    evaluate = _Evaluator(pages)
    print(f"{len(pages)} pages; load average {load0:.2f} at start")
    knobs = knob_table(pages, evaluate)
    head = headline(pages, evaluate)
    words = word_table(to_word_pages(jobs, results, pages), head["cv_configs"])
    cost = {n: sum(r["records"][n]["seconds"] for r in results if n in r["records"])
            for n in ("stock", "original")}
    print(f"\nTesseract seconds over all pages: stock {cost['stock']:.1f}, first pass "
          f"{cost['original']:.1f} (cached passes keep the seconds of their first run)")
    print(f"wall {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.2f}"
          " at end")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"knobs": knobs, "headline": head, "words": words}, indent=1,
                                    default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
