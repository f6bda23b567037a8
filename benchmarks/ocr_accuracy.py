"""OCR accuracy on ../shared/data/ocr: our pipeline vs stock Tesseract, in the same run.

    python benchmarks/ocr_accuracy.py            # everything (about 10 min on 2 cores)
    python benchmarks/ocr_accuracy.py --quick    # 3 pages per collection, no PDFs

Stock = ``tesseract FILE stdout -l eng --psm 3`` (PDF pages: on the page rendered at 300 dpi).
Ours = ``Strategy.AUTO`` with the default options. Every cleanup variant (also the ones off
by default) is recognised once; each configuration of the ablation re-runs the
confidence-guided choice over a subset of those variants (same rule, no new OCR), except
``- deskew``/``- rescale``/``- text-size rescale``/``- narrow psm`` which recognise the
affected variants again without that setting (``RERUNS``).
"s/page ours" counts the Tesseract passes of the default configuration (not OSD).
CER/WER: whitespace collapsed, case-insensitive (SROIE truth is upper case), Levenshtein /
reference length. BoW: the order-free word error (``bag_of_words_error``), for pages whose
reference order is arbitrary (scribe's tables and columns, SROIE's box order). Where the
reference runs column by column and Tesseract reads row by row (scribe ``table_02``), every
extra word read correctly raises the CER: read BoW there.
``ocrmypdf_pdfs`` pages are scored against ``linn.txt``, an approximate reference (OCR output
kept by OCRmyPDF), so read that row as a consistency check.
Receipt fields: exact match of the normalised date (ISO) and total (Decimal) on SROIE.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.ocr.loading import PageImage, iter_pages
from actors.ocr.metrics import bag_of_words_error, cer, wer
from actors.ocr.options import OcrOptions, Strategy, TextLayerMode
from actors.ocr.pipeline import (
    CLEANUPS,
    SKEW_GATE_DEG,
    Variant,
    choose,
    ready_page,
    recognize_variants,
    rotated,
    run_variant,
)
from actors.ocr.processors import ProcessorInput
from actors.ocr.processors.parsing import parse_amount, parse_date
from actors.ocr.processors.receipts import ReceiptProcessor

DATA = Path(os.environ.get("ARMILLARY_SHARED_DIR",
                           Path(__file__).resolve().parents[2] / "shared")) / "data" / "ocr"
# A generous page timeout: the table shows the method, not how loaded the machine was.
DEFAULT = OcrOptions(strategy=Strategy.AUTO, text_layer=TextLayerMode.FORCE,
                     page_timeout_s=900)
# Every cleanup step is recognised once; configurations are subsets of those variants.
EVERYTHING = replace(DEFAULT, preprocess=replace(DEFAULT.preprocess, denoise=True,
                                                 clahe=True, contrast=True, binarize=True))
DEFAULT_STEPS = [n for n in CLEANUPS if getattr(DEFAULT.preprocess, n)]
SYNTHETIC_SKEWS = [-12.0, -7.0, -3.0, 3.0, 7.0, 12.0]
LINN_DERIVED = ["skew.pdf", "rotated_skew.pdf", "cardinal.pdf", "jbig2.pdf", "linn.png"]


@dataclass
class PageJob:
    file: str
    collection: str
    page: int  # 0-based
    gt: str
    tags: str
    skew: float = 0.0  # synthetic: degrees counter-clockwise applied to the page first


@dataclass
class PageScore:
    job: PageJob
    stock_text: str
    variants: dict[str, str]  # name -> text
    chosen: dict[str, str]  # config -> variant name
    seconds_stock: float
    seconds_ours: float
    extra: dict[str, Any] = field(default_factory=dict)


def jobs(args: argparse.Namespace) -> list[PageJob]:
    manifest = pd.read_csv(DATA / "manifest.csv")
    out: list[PageJob] = []
    scored = manifest[manifest.tesseract_cer.notna()]
    for collection, group in scored.groupby("collection", sort=True):
        rows = group if args.limit is None else group.head(args.limit)
        for _, row in rows.iterrows():
            gt = (DATA / row.gt_file).read_text(encoding="utf-8")
            out.append(PageJob(row.file, str(collection), 0, gt, str(row.tags)))
    phototest = (DATA / "tesseract_test" / "phototest.gt.txt").read_text(encoding="utf-8")
    for angle in SYNTHETIC_SKEWS[: args.limit] if args.limit else SYNTHETIC_SKEWS:
        out.append(PageJob("tesseract_test/phototest.tif", "synthetic skew (phototest)", 0,
                           phototest, "skewed", skew=angle))
    if not args.no_pdfs:
        linn = (DATA / "ocrmypdf_pdfs" / "linn.txt").read_text(encoding="utf-8")
        names = LINN_DERIVED if args.limit is None else LINN_DERIVED[: args.limit]
        for name in names:
            pages = 4 if name == "cardinal.pdf" else 1
            for page in range(pages):
                tags = "rotated" if name in ("cardinal.pdf", "rotated_skew.pdf") else "skewed"
                out.append(PageJob(f"ocrmypdf_pdfs/{name}", "ocrmypdf_pdfs (approx ref)", page,
                                   linn, tags if name != "linn.png" else "clean"))
    return out


def stock_tesseract(path: Path) -> str:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    result = subprocess.run(["tesseract", str(path), "stdout", "-l", "eng", "--psm", "3"],
                            capture_output=True, env=env, check=True, timeout=600)
    return result.stdout.decode("utf-8", errors="replace")


def _is_step(name: str, step: str) -> bool:
    return name.startswith("rotate") if step == "rotation" else name.split("@")[0] == step


# Re-run ablations: the default variants again with one setting changed (label -> changes).
RERUNS: dict[str, dict[str, Any]] = {
    "deskew": {"deskew": False},
    "rescale": {"rescale": False},
    "text-size rescale": {"target_text_px": 0},  # rescale by resolution instead
    "narrow psm": {"narrow_psm": 0},  # narrow pages read with psm 3 like the others
}


def _rerun(page: PageImage, variants: list[Variant], label: str) -> list[Variant]:
    """The default variants again with ``RERUNS[label]`` applied; when that leaves the page
    they derive from unchanged (same steps, same psm) the variants are reused, so only pages
    where the setting did something cost new OCR passes."""
    pre = replace(DEFAULT.preprocess, **RERUNS[label])
    options = replace(DEFAULT, preprocess=pre)
    default = [v for v in variants if v.name != "original" and any(
        _is_step(v.name, s) for s in [*DEFAULT_STEPS, "rotation"])]
    first = _original(variants)
    reused = [v for v in variants if v.name in ("original", "deskew") or v in default]
    if not default:
        return reused
    ready = ready_page(page, options, first.recognition)
    cleanups = [v for v in default if not v.name.startswith("rotate")]
    if all(v.steps[: len(ready.steps)] == ready.steps and v.psm == ready.psm
           for v in cleanups):
        return reused
    tag = f"@no-{label.replace(' ', '-')}"
    out = [first]
    if abs(ready.skew) >= SKEW_GATE_DEG:
        straight = ready.derive(f"deskew{tag}", ready.image, "straightened")
        run_variant(straight, options)
        out.insert(0, straight)
    for v in default:
        if v.name.startswith("rotate"):
            new = rotated(ready, v.rotation, pre)
        else:
            new = ready.derive(v.name, CLEANUPS[v.name](ready.image), v.name)
        new.name = f"{v.name}{tag}"
        run_variant(new, options)
        out.append(new)
    return out


def _original(variants: list[Variant]) -> Variant:
    return next(v for v in variants if v.name == "original")


def ablation_configs(page: PageImage, variants: list[Variant]) -> dict[str, list[Variant]]:
    steps = [*DEFAULT_STEPS, "rotation"]
    first = _original(variants)
    default = [v for v in variants if v.name in ("original", "deskew")
               or any(_is_step(v.name, s) for s in steps)]
    configs: dict[str, list[Variant]] = {"ours": default, "original only": [first]}
    for step in steps:
        configs[f"ours - {step}"] = [v for v in default if not _is_step(v.name, step)]
        configs[f"original + {step} only"] = [first] + [
            v for v in variants if _is_step(v.name, step)]
    for step in CLEANUPS:
        if step not in DEFAULT_STEPS:
            configs[f"ours + {step}"] = default + [v for v in variants if v.name == step]
    for label in RERUNS:
        configs[f"ours - {label}"] = _rerun(page, variants, label)
    return configs


def score_page(job: PageJob) -> PageScore:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    path = DATA / job.file
    data = path.read_bytes()
    if job.skew:
        from PIL import Image

        with Image.open(path) as img:
            turned = img.convert("L").rotate(job.skew, expand=True, fillcolor=255,
                                             resample=Image.Resampling.BICUBIC)
            buf = io.BytesIO()
            turned.save(buf, format="PNG", dpi=(200, 200))
            data = buf.getvalue()
    page = next(p for p in iter_pages(data, EVERYTHING) if p.index == job.page)
    t0 = time.perf_counter()
    if job.skew:
        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "page.png"
            png.write_bytes(data)
            stock = stock_tesseract(png)
    elif path.suffix.lower() == ".pdf":
        assert page.image is not None
        from PIL import Image

        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "page.png"
            Image.fromarray(page.image).save(png, dpi=(300, 300))
            stock = stock_tesseract(png)
    else:
        stock = stock_tesseract(path)
    t1 = time.perf_counter()
    variants = recognize_variants(page, EVERYTHING)
    t2 = time.perf_counter()
    configs = ablation_configs(page, variants)
    chosen = {name: choose(subset).name for name, subset in configs.items()}
    texts = {v.name: v.recognition.text for subset in configs.values() for v in subset
             if v.recognition is not None}
    texts.update({v.name: v.recognition.text for v in variants if v.recognition is not None})
    # Time of the default configuration alone (OSD not included).
    ours_s = sum(v.seconds for v in configs["ours"])
    extra = {"skew": max((abs(v.skew) for v in variants), default=0.0),
             "scores": {v.name: round(v.recognition.score, 1) for v in variants
                        if v.recognition is not None},
             "all_variants_s": round(t2 - t1, 2)}
    return PageScore(job, stock, texts, chosen, t1 - t0, ours_s, extra)


def receipt_fields(text: str) -> dict[str, Any]:
    return ReceiptProcessor().extract(ProcessorInput(text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="pages per collection")
    parser.add_argument("--quick", action="store_true", help="--limit 3 --no-pdfs")
    parser.add_argument("--no-pdfs", action="store_true", help="skip the ocrmypdf_pdfs pages")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/ocr_accuracy.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.limit, args.no_pdfs = 3, True
    todo = jobs(args)
    print(f"{len(todo)} pages, {args.workers} workers", file=sys.stderr)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        scores = []
        for i, score in enumerate(pool.map(score_page, todo), 1):
            scores.append(score)
            print(f"  [{i}/{len(todo)}] {score.job.file}#{score.job.page + 1} "
                  f"chosen={score.chosen['ours']} {score.extra['scores']}", file=sys.stderr)
    wall = time.perf_counter() - started
    report = summarise(scores)
    report["wall_s"] = round(wall, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print_report(report)
    return 0


def _cer_of(score: PageScore, config: str) -> float:
    return cer(score.job.gt, score.variants[score.chosen[config]], case_insensitive=True)


def summarise(scores: list[PageScore]) -> dict[str, Any]:
    rows: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    pages: list[dict[str, Any]] = []
    configs = list(scores[0].chosen) if scores else []
    for s in scores:
        ref = s.job.gt
        stock_c = cer(ref, s.stock_text, case_insensitive=True)
        ours_text = s.variants[s.chosen["ours"]]
        ours_c = cer(ref, ours_text, case_insensitive=True)
        groups = [s.job.collection]
        if not s.job.collection.startswith(("ocrmypdf", "synthetic")):
            groups.append("ALL (manifest pages)")
            if any(t in s.job.tags for t in ("rotat", "skew")):
                groups.append("rotated/skewed")
        for g in groups:
            rows[g]["stock_cer"].append(stock_c)
            rows[g]["stock_wer"].append(wer(ref, s.stock_text, case_insensitive=True))
            rows[g]["ours_cer"].append(ours_c)
            rows[g]["ours_wer"].append(wer(ref, ours_text, case_insensitive=True))
            rows[g]["stock_bow"].append(bag_of_words_error(ref, s.stock_text,
                                                           case_insensitive=True))
            rows[g]["ours_bow"].append(bag_of_words_error(ref, ours_text, case_insensitive=True))
            rows[g]["stock_s"].append(s.seconds_stock)
            rows[g]["ours_s"].append(s.seconds_ours)
            for config in configs:
                rows[g][f"cfg:{config}"].append(_cer_of(s, config))
        pages.append({"file": s.job.file, "page": s.job.page + 1, "collection": s.job.collection,
                      "stock_cer": round(stock_c, 4), "ours_cer": round(ours_c, 4),
                      "chosen": s.chosen["ours"], "scores": s.extra["scores"],
                      "skew": s.extra["skew"]})
    table = {g: {k: sum(v) / len(v) for k, v in cols.items()} | {"pages": len(cols["stock_cer"])}
             for g, cols in rows.items()}
    # Receipt fields.
    keys = pd.read_csv(DATA / "sroie_receipts" / "key_fields.csv", dtype=str).set_index("image")
    fields = {"stock": defaultdict(int), "ours": defaultdict(int), "n": 0}
    for s in scores:
        if s.job.collection != "sroie_receipts":
            continue
        truth = keys.loc[s.job.file.split("/", 1)[1]]
        fields["n"] += 1  # type: ignore[operator]
        for who, text in (("stock", s.stock_text), ("ours", s.variants[s.chosen["ours"]])):
            got = receipt_fields(text)
            fields[who]["date"] += got["date"] == parse_date(truth.date)  # type: ignore[index]
            fields[who]["total"] += got["total"] == parse_amount(truth.total)  # type: ignore[index]
    clean = [p for p in pages
             if p["stock_cer"] < 0.05
             and not p["collection"].startswith(("ocrmypdf", "synthetic"))]
    worst_clean = max(clean, key=lambda p: p["ours_cer"] - p["stock_cer"]) if clean else None
    return {"table": table, "configs": configs, "fields": fields, "pages": pages,
            "worst_clean": worst_clean}


def print_report(report: dict[str, Any]) -> None:
    table = report["table"]
    print("\nCER / WER (case-insensitive), ours = Strategy.AUTO, ratio = ours / stock;"
          " BoW = order-free word error (missed + spurious words / reference words)")
    print(f"{'collection':34} {'pages':>5} {'stock CER':>9} {'ours CER':>9} {'ratio':>6} "
          f"{'stock WER':>9} {'ours WER':>9} {'ratio':>6} {'stock BoW':>9} {'ours BoW':>9} "
          f"{'ratio':>6} {'s/page st':>9} {'s/page ours':>11}")
    for g in sorted(table):
        r = table[g]
        print(f"{g:34} {r['pages']:5d} {r['stock_cer']:9.4f} {r['ours_cer']:9.4f} "
              f"{_ratio(r['ours_cer'], r['stock_cer']):>6} {r['stock_wer']:9.4f} "
              f"{r['ours_wer']:9.4f} {_ratio(r['ours_wer'], r['stock_wer']):>6} "
              f"{r['stock_bow']:9.4f} {r['ours_bow']:9.4f} "
              f"{_ratio(r['ours_bow'], r['stock_bow']):>6} "
              f"{r['stock_s']:9.2f} {r['ours_s']:11.2f}")
    print("\nAblation: mean CER per collection for each configuration (same OCR passes)")
    groups = sorted(table)
    print(f"{'configuration':28} " + " ".join(f"{g[:16]:>16}" for g in groups))
    stock_line = " ".join(f"{table[g]['stock_cer']:16.4f}" for g in groups)
    print(f"{'stock tesseract':28} {stock_line}")
    for config in report["configs"]:
        print(f"{config:28} " + " ".join(f"{table[g]['cfg:' + config]:16.4f}" for g in groups))
    f = report["fields"]
    if f["n"]:
        print(f"\nReceipt fields on {f['n']} SROIE receipts (exact match after normalisation)")
        print(f"{'field':8} {'stock':>7} {'ours':>7}")
        for name in ("date", "total"):
            print(f"{name:8} {f['stock'][name] / f['n']:7.2%} {f['ours'][name] / f['n']:7.2%}")
    worst = report["worst_clean"]
    if worst:
        delta = worst["ours_cer"] - worst["stock_cer"]
        print(f"\nClean pages (stock CER < 0.05): worst change {delta * 100:+.2f} points "
              f"({worst['file']}); goal: never more than +0.50")
    print(f"wall time {report.get('wall_s', 0)} s")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


if __name__ == "__main__":
    raise SystemExit(main())
