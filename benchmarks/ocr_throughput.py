"""Batch OCR throughput on 2 cores: training/batch_ocr.py (Ray Data, 2 actors) vs the ideal,
``xargs -P 2 tesseract`` over the same pages, in the same run; plus ``ocrmypdf -j 2`` vs our
pipeline on the PDFs when OCRmyPDF is installed.

    python benchmarks/ocr_throughput.py             # 43 images + 7 PDFs
    python benchmarks/ocr_throughput.py --quick     # 10 images, no PDFs, no AUTO run

Same work per page: the pipeline runs ``Strategy.SINGLE`` without preprocessing (one
Tesseract pass per page, like the CLI), so the ratio measures the pipeline's overhead
(reading, Ray Data scheduling, actors, Parquet parts). ``--auto`` also times the default,
more accurate ``Strategy.AUTO`` (1-5 passes per page) for reference. Ray start-up is timed
separately and not counted (a long-lived cluster runs the jobs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from actors.ocr import OcrOptions, PreprocessOptions, Strategy, TextLayerMode
from training.batch_ocr import run_batch

DATA = Path(os.environ.get("ARMILLARY_SHARED_DIR",
                           Path(__file__).resolve().parents[2] / "shared")) / "data" / "ocr"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
FAST = OcrOptions(strategy=Strategy.SINGLE, preprocess=PreprocessOptions.none(),
                  text_layer=TextLayerMode.SKIP)


def images(limit: int | None) -> list[Path]:
    files = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return files[:limit] if limit else files


def pdfs() -> list[Path]:
    return sorted(DATA.rglob("*.pdf"))


def xargs_tesseract(files: list[Path], workers: int) -> float:
    listing = "\n".join(str(f) for f in files) + "\n"
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    t0 = time.perf_counter()
    subprocess.run(
        ["xargs", "-P", str(workers), "-I{}", "tesseract", "{}", "stdout", "-l", "eng",
         "--psm", "3"],
        input=listing.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, check=True,
    )
    return time.perf_counter() - t0


def pipeline(files: list[Path], options: OcrOptions, workers: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as tmp:
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(str(f) for f in files) + "\n")
        t0 = time.perf_counter()
        summary = run_batch(listing, Path(tmp) / "out", options=options, concurrency=workers,
                            progress_bar=False)
        seconds = time.perf_counter() - t0
    if summary.pages_failed:
        print(f"warning: {summary.pages_failed} pages failed: {summary.errors[:3]}",
              file=sys.stderr)
    return seconds, summary.pages_done + summary.pages_failed


def ocrmypdf(files: list[Path], workers: int) -> tuple[float, int]:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    pages = 0
    with tempfile.TemporaryDirectory(prefix="ocrmypdf-bench-") as tmp:
        t0 = time.perf_counter()
        for f in files:
            result = subprocess.run(
                ["ocrmypdf", "-j", str(workers), "--skip-text", "--output-type", "pdf",
                 "--optimize", "0", "-q", str(f), str(Path(tmp) / f.name)],
                env=env, capture_output=True, check=False,
            )
            if result.returncode not in (0, 6, 10):  # 6: already has text, 10: PDF/A failed
                print(f"ocrmypdf failed on {f.name}: {result.stderr[-300:]!r}", file=sys.stderr)
        seconds = time.perf_counter() - t0
    from actors.ocr import count_pages

    pages = sum(count_pages(f.read_bytes()) for f in files)
    return seconds, pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="number of images")
    parser.add_argument("--quick", action="store_true", help="--limit 10, no PDFs")
    parser.add_argument("--no-pdfs", action="store_true")
    parser.add_argument("--auto", action="store_true", help="also time Strategy.AUTO")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="alternate runs, best kept")
    args = parser.parse_args(argv)
    if args.quick:
        args.limit, args.no_pdfs = 10, True
    files = images(args.limit)
    import ray

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=args.workers, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    ray_start = time.perf_counter() - t0
    rows: list[tuple[str, int, float]] = []
    try:
        best_ideal = best_ours = float("inf")
        for _ in range(args.repeat):
            best_ideal = min(best_ideal, xargs_tesseract(files, args.workers))
            seconds, _pages = pipeline(files, FAST, args.workers)
            best_ours = min(best_ours, seconds)
        rows.append((f"xargs -P {args.workers} tesseract (ideal)", len(files), best_ideal))
        rows.append(("batch_ocr, SINGLE, no preprocessing", len(files), best_ours))
        if args.auto:
            seconds, _pages = pipeline(files, OcrOptions(text_layer=TextLayerMode.SKIP),
                                       args.workers)
            rows.append(("batch_ocr, AUTO (default, accurate)", len(files), seconds))
        pdf_rows: list[tuple[str, int, float]] = []
        if not args.no_pdfs and shutil.which("ocrmypdf"):
            pdf_files = pdfs()
            seconds, pages = ocrmypdf(pdf_files, args.workers)
            pdf_rows.append((f"ocrmypdf -j {args.workers} (PDFs, one after another)", pages,
                             seconds))
            seconds, pages = pipeline(pdf_files, FAST, args.workers)
            pdf_rows.append(("batch_ocr, SINGLE, no preprocessing (PDFs)", pages, seconds))
    finally:
        ray.shutdown()
    print(f"\nBatch OCR throughput, {args.workers} workers, OMP_THREAD_LIMIT=1 "
          f"(Ray start-up {ray_start:.1f} s, not counted)")
    print(f"{'setup':48} {'pages':>5} {'seconds':>8} {'pages/s':>8} {'vs ideal':>8}")
    ideal_rate = rows[0][1] / rows[0][2]
    for name, pages, seconds in rows:
        rate = pages / seconds
        print(f"{name:48} {pages:5d} {seconds:8.1f} {rate:8.3f} {rate / ideal_rate:8.2f}")
    if pdf_rows:
        base = pdf_rows[0][1] / pdf_rows[0][2]
        print(f"\n{'setup (PDFs)':48} {'pages':>5} {'seconds':>8} {'pages/s':>8} "
              f"{'vs ocrmypdf':>11}")
        for name, pages, seconds in pdf_rows:
            rate = pages / seconds
            print(f"{name:48} {pages:5d} {seconds:8.1f} {rate:8.3f} {rate / base:11.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
