"""Batch OCR throughput on 2 cores, measured in the same run against references:

- images: training/batch_ocr.py (Ray Data, 2 actors) vs the ideal, ``xargs -P 2 tesseract``
  over the same 43 pages;
- PDFs (the 7 of ``data/ocr/ocrmypdf_pdfs``, 16 pages to OCR: the page with a text layer is
  skipped by both sides): batch_ocr vs OCRmyPDF 14 (when installed).

    python benchmarks/ocr_throughput.py --repeat 3   # images + PDFs, medians of 3 runs
    python benchmarks/ocr_throughput.py --quick      # 10 images, no PDFs
    python benchmarks/ocr_throughput.py --no-images --per-pdf   # PDFs only, plus per file

Same work per page: the pipeline runs ``Strategy.SINGLE`` without preprocessing (one
Tesseract pass per page, like the CLI and like OCRmyPDF, which neither deskews nor cleans
nor runs OSD by default), with ``OMP_THREAD_LIMIT=1`` on both sides. The PDF table also
shows the floor: ``xargs -P 2 tesseract`` on our rendered pages saved as PNG beforehand
(rendering not timed), i.e. Tesseract alone on the same pixels. The image table also times
the default, more accurate ``Strategy.AUTO`` on the same pages in every round (pages/s next
to SINGLE's, and AUTO's cost per page in SINGLE's; ``--no-auto`` skips it). Ray
start-up and a first 2-page job right after it (one-off imports in the driver and the
workers) are timed separately and not counted (a long-lived cluster runs the jobs); the
actors' start-up in each run is counted.

PDF pages are rendered like OCRmyPDF does: a scanned page at its image's resolution
(clamped to 200-400 dpi on our side, unclamped for OCRmyPDF), so both OCR about the same
pixels; the per-PDF table shows both pixel counts.

OCRmyPDF settings (``--skip-text`` everywhere, as batch_ocr keeps text layers):

- ``default``: ``ocrmypdf -j 2`` file after file, its defaults: PDF/A output through
  Ghostscript, ``--optimize 1``. What a user runs; it does more than we do (PDF/A).
- ``pdf``: ``--output-type pdf --optimize 0``: a searchable PDF, no PDF/A conversion.
- ``text``: ``--output-type none --sidecar``: text only, the same output as batch_ocr
  (which writes text to Parquet and no PDF). The like-for-like comparison.
- ``text-x2``: ``text``, but two files at a time with ``-j 1`` each (``xargs -P 2``), the
  same scheduling as our two actors (``-j 2`` on a one-page file leaves a core idle).

``--repeat N`` alternates the setups N times and reports each one's median (and range);
the machine is shared, so read the ratios (same run) rather than the seconds.
``--per-pdf``: each PDF alone on one core, ours in-process (``process_document``: render +
one Tesseract pass per page) vs ``ocrmypdf -j 1 --output-type none --sidecar``.

Measured 2026-11-26 on a quiet machine (``--repeat 3``; ratios = median of per-round
ratios). Images: batch_ocr 17.0 s vs ``xargs -P 2 tesseract`` 15.1 s: **0.91** of ideal
(per round 0.85-0.91; an earlier ``--repeat 2``: 0.91, 0.89-0.93), 0.90 against xargs
writing the same outputs (words with boxes and confidences). How: (1) a single-page image
file is not decoded in Python when Tesseract reads it as it is (0.80 -> 0.84); (2) under
plain SINGLE the actors take two such files per call and read them with one Tesseract
process (a list of files: the model loads once; ~12% less CPU per page than a process per
page, the same TSV; 0.84 -> 0.91). What is left is fixed per job: the actors' start-up,
~1.2 s from the start of the Ray Data execution to their first page (each actor process
imports Ray Data, ~1 CPU-s; a minimal Ray Data pipeline with a trivial callable class takes
as long). PDFs (not grouped: the pages are rendered, and PDFs in pairs balance worse): ours
14.5 s; Tesseract alone on the same pixels 11.6 s (ours at 0.81 of it); OCRmyPDF default
33.8 s (ours 2.29x faster), ``pdf`` 25.7 s (1.78x), ``text`` 25.7 s (1.77x), ``text-x2``
19.1 s (1.31x). Both sides spend most of their time in the same Tesseract pass on about the
same pixels (an earlier ``--per-pdf``, each PDF alone on one core: 30.7 s vs 40.4 s, 1.32x),
so against a like-for-like OCRmyPDF the ratio is bounded by its overhead over Tesseract
(19.1 vs 11.6 s: at most ~1.6x even for a pipeline with no overhead at all); 2x holds
against its default (PDF/A through Ghostscript). Under heavy load from other jobs (load
5-15) an earlier run gave 1.74x vs default and per-round ratios from 0.64x to 2.09x: use
``--repeat``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from actors.ocr import OcrOptions, PreprocessOptions, Strategy, TextLayerMode
from training.batch_ocr import run_batch

DATA = Path(os.environ.get("ARMILLARY_SHARED_DIR",
                           Path(__file__).resolve().parents[2] / "shared")) / "data" / "ocr"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
FAST = OcrOptions(strategy=Strategy.SINGLE, preprocess=PreprocessOptions.none(),
                  text_layer=TextLayerMode.SKIP)
# The default strategy (AUTO: 1 pass on a confident page, up to ~6 on a hard one).
AUTO = OcrOptions(text_layer=TextLayerMode.SKIP)
OCRMYPDF_SETUPS: dict[str, tuple[list[str], bool]] = {
    # name: (extra arguments, two files at a time with -j 1)
    "default": ([], False),
    "pdf": (["--output-type", "pdf", "--optimize", "0"], False),
    "text": (["--output-type", "none", "--sidecar"], False),
    "text-x2": (["--output-type", "none", "--sidecar"], True),
}
# The DPI OCRmyPDF renders each page at (its own pdfinfo), read with the system Python.
_OCRMYPDF_DPI = """
import json, sys
from ocrmypdf.pdfinfo import PdfInfo
from ocrmypdf._pipeline import get_canvas_square_dpi
from types import SimpleNamespace
opts = SimpleNamespace(oversample=0)
out = []
for page in PdfInfo(sys.argv[1]):
    dpi = get_canvas_square_dpi(page, opts).x
    out.append([float(page.width_inches), float(page.height_inches), dpi, bool(page.has_text)])
print(json.dumps(out))
"""


def images(limit: int | None) -> list[Path]:
    files = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return files[:limit] if limit else files


def pdfs() -> list[Path]:
    return sorted((DATA / "ocrmypdf_pdfs").glob("*.pdf"))


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_THREAD_LIMIT="1")


def xargs_tesseract(files: list[Path], workers: int, *, words: bool = False) -> float:
    """``xargs -P workers tesseract FILE stdout``; ``words``: also the TSV of words with
    boxes and confidences, the outputs batch_ocr keeps (plain text alone is cheaper)."""
    listing = "\n".join(str(f) for f in files) + "\n"
    tsv = ["-c", "tessedit_create_tsv=1"] if words else []
    t0 = time.perf_counter()
    subprocess.run(
        ["xargs", "-P", str(workers), "-I{}", "tesseract", "{}", "stdout", "-l", "eng",
         "--psm", "3", *tsv],
        input=listing.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=_env(), check=True,
    )
    return time.perf_counter() - t0


def pipeline(files: list[Path], options: OcrOptions, workers: int) -> tuple[float, int]:
    """Seconds of one batch_ocr run over ``files`` and the pages it OCRed."""
    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as tmp:
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(str(f) for f in files) + "\n")
        t0 = time.perf_counter()
        summary = run_batch(listing, Path(tmp) / "out", options=options, concurrency=workers,
                            progress_bar=False)
        seconds = time.perf_counter() - t0
        import pyarrow.parquet as pq

        table = pq.read_table(Path(tmp) / "out" / "pages.parquet")
    if summary.pages_failed:
        print(f"warning: {summary.pages_failed} pages failed: {summary.errors[:3]}",
              file=sys.stderr)
    ocred = sum(1 for conf in table.column("confidence").to_pylist() if conf != 100.0)
    return seconds, ocred


def render_pages(files: list[Path], out: Path) -> list[Path]:
    """The PDF pages batch_ocr OCRs, rendered as batch_ocr renders them, as PNG files (for
    the ``xargs -P 2 tesseract`` floor: Tesseract alone on the same pixels)."""
    from PIL import Image

    from actors.ocr.loading import iter_pages
    from actors.ocr.pipeline import pages_to_ocr

    pngs = []
    for f in files:
        data = f.read_bytes()
        for page in iter_pages(data, FAST, render=pages_to_ocr(data, FAST.text_layer)):
            if page.image is None:
                continue
            png = out / f"{f.stem}-p{page.index + 1}.png"
            dpi = round(page.dpi or 300)
            Image.fromarray(page.image).save(png, dpi=(dpi, dpi), compress_level=1)
            pngs.append(png)
    return pngs


def _ocrmypdf_cmd(src: str, out: str, extra: list[str], jobs: int) -> list[str]:
    """``ocrmypdf`` on ``src``; ``out`` is the output PDF, or the sidecar's name ``out.txt``
    (output ``-``) with ``--output-type none``."""
    args = ["ocrmypdf", "-j", str(jobs), "--skip-text", "-q"]
    for arg in extra:
        args.append(arg)
        if arg == "--sidecar":
            args.append(f"{out}.txt")
    return [*args, src, "-" if "none" in extra else out]


def ocrmypdf(files: list[Path], setup: str, workers: int) -> float:
    extra, parallel_files = OCRMYPDF_SETUPS[setup]
    with tempfile.TemporaryDirectory(prefix="ocrmypdf-bench-") as tmp:
        t0 = time.perf_counter()
        if parallel_files:  # xargs hands each file to sh as $1
            cmd = _ocrmypdf_cmd("$1", f"{tmp}/$(basename \"$1\")", extra, 1)
            script = "exec " + " ".join(f'"{arg}"' for arg in cmd)
            listing = "\n".join(str(f) for f in files) + "\n"
            result = subprocess.run(
                ["xargs", "-P", str(workers), "-n", "1", "sh", "-c", script, "sh"],
                input=listing.encode(), env=_env(), capture_output=True, check=False,
            )
            if result.returncode != 0:
                print(f"ocrmypdf ({setup}) failed: {result.stderr[-300:]!r}", file=sys.stderr)
        else:
            for f in files:
                result = subprocess.run(_ocrmypdf_cmd(str(f), f"{tmp}/{f.name}", extra, workers),
                                        env=_env(), capture_output=True, check=False)
                if result.returncode not in (0, 10):  # 10: PDF/A conversion failed
                    print(f"ocrmypdf ({setup}) failed on {f.name}: {result.stderr[-300:]!r}",
                          file=sys.stderr)
        return time.perf_counter() - t0


def ocrmypdf_pixels(path: Path) -> tuple[int, int] | None:
    """(pages OCRmyPDF OCRs with --skip-text, pixels it renders for them), from its pdfinfo."""
    python = shutil.which("python3", path="/usr/bin")
    if python is None:
        return None
    result = subprocess.run([python, "-c", _OCRMYPDF_DPI, str(path)], capture_output=True,
                            check=False, text=True)
    if result.returncode != 0:
        return None
    pages = [p for p in json.loads(result.stdout) if not p[3]]
    return len(pages), int(sum(w * h * dpi * dpi for w, h, dpi, _ in pages))


def ours_in_process(path: Path) -> tuple[float, int, int]:
    """(seconds, pages OCRed, pixels rendered) for one PDF, in this process, one core."""
    from actors.ocr import process_document

    t0 = time.perf_counter()
    result = process_document(path.read_bytes(), FAST)
    seconds = time.perf_counter() - t0
    ocred = [p for p in result.pages if p.source == "ocr"]
    return seconds, len(ocred), sum(p.width * p.height for p in ocred)


def ocrmypdf_one(path: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="ocrmypdf-bench-") as tmp:
        t0 = time.perf_counter()
        extra, _ = OCRMYPDF_SETUPS["text"]
        result = subprocess.run(_ocrmypdf_cmd(str(path), f"{tmp}/{path.name}", extra, 1),
                                env=_env(), capture_output=True, check=False)
        if result.returncode != 0:
            print(f"ocrmypdf failed on {path.name}: {result.stderr[-300:]!r}", file=sys.stderr)
        return time.perf_counter() - t0


def _median(values: list[float]) -> str:
    med = statistics.median(values)
    spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
    return f"{med:8.1f}{spread:>14}"


def _ratio(theirs: list[float], ours: list[float]) -> str:
    """Median (range) of theirs/ours over the rounds: each round's pair ran back to back."""
    ratios = [t / o for t, o in zip(theirs, ours, strict=True)]
    med = statistics.median(ratios)
    return f"{med:.2f}" + (f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else "")


def repeat(n: int, runs: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Run every setup once per round, ``n`` rounds (alternating, so drifts in the load of
    the machine hit all of them)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(n):
        for name, run in runs.items():
            seconds = run()
            times[name].append(seconds)
            print(f"  round {round_ + 1}: {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="number of images")
    parser.add_argument("--quick", action="store_true", help="--limit 10, no PDFs")
    parser.add_argument("--no-pdfs", action="store_true")
    parser.add_argument("--no-images", action="store_true")
    parser.add_argument("--no-auto", action="store_true",
                        help="do not time Strategy.AUTO (the default) on the images")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every setup; medians are reported")
    parser.add_argument("--ocrmypdf", default=",".join(OCRMYPDF_SETUPS),
                        help=f"OCRmyPDF setups, comma-separated, of {list(OCRMYPDF_SETUPS)}")
    parser.add_argument("--per-pdf", action="store_true",
                        help="also each PDF alone on one core, ours vs ocrmypdf -j 1")
    args = parser.parse_args(argv)
    if args.quick:
        args.limit, args.no_pdfs = 10, True
    setups = [s for s in args.ocrmypdf.split(",") if s]
    unknown = set(setups) - set(OCRMYPDF_SETUPS)
    if unknown:
        parser.error(f"unknown OCRmyPDF setups {sorted(unknown)}")
    has_ocrmypdf = shutil.which("ocrmypdf") is not None
    files = images(args.limit)
    pdf_files = pdfs()
    import ray

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=args.workers, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    ray_start = time.perf_counter() - t0
    # The first job on a fresh Ray pays one-off costs (the driver imports Ray Data, the
    # workers read the OCR modules from disk): timed on 2 pages, reported, not counted.
    warm_up, _ = pipeline(files[:2] or pdf_files[:1], FAST, args.workers)
    pages: dict[str, int] = {}

    def ours(name: str, paths: list[Path], options: OcrOptions) -> Callable[[], float]:
        def run() -> float:
            seconds, done = pipeline(paths, options, args.workers)
            pages[name] = done
            return seconds
        return run

    runs: dict[str, Callable[[], float]] = {}
    rendered = tempfile.TemporaryDirectory(prefix="ocr-bench-pages-")
    if not args.no_images:
        runs["images: xargs"] = lambda: xargs_tesseract(files, args.workers)
        runs["images: xargs tsv"] = lambda: xargs_tesseract(files, args.workers, words=True)
        runs["images: ours"] = ours("images: ours", files, FAST)
        if not args.no_auto:
            runs["images: auto"] = ours("images: auto", files, AUTO)
    if not args.no_pdfs:
        pngs = render_pages(pdf_files, Path(rendered.name))
        runs["pdfs: xargs"] = lambda: xargs_tesseract(pngs, args.workers)
        runs["pdfs: ours"] = ours("pdfs: ours", pdf_files, FAST)
        if has_ocrmypdf:
            for setup in setups:
                runs[f"pdfs: ocrmypdf {setup}"] = partial(ocrmypdf, pdf_files, setup,
                                                          args.workers)
    try:
        times = repeat(args.repeat, runs)
    finally:
        ray.shutdown()
        rendered.cleanup()

    print(f"\nBatch OCR throughput, {args.workers} workers, OMP_THREAD_LIMIT=1; seconds: "
          f"median (range) of {args.repeat} rounds; ratio: median of the per-round ratios "
          f"(Ray start-up {ray_start:.1f} s and a first job on 2 pages {warm_up:.1f} s, not "
          f"counted)")
    if not args.no_images:
        print(f"{'setup (images)':48} {'pages':>5} {'seconds':>8} {'':>14} {'vs ideal':>8} "
              f"{'pages/s':>8}")
        rows = [("images: xargs", f"xargs -P {args.workers} tesseract (ideal)"),
                ("images: xargs tsv", "  the same, + words/boxes/confidences (tsv)"),
                ("images: ours", "batch_ocr, SINGLE, no preprocessing"),
                ("images: auto", "batch_ocr, AUTO (the default, accurate)")]
        for name, label in rows:
            if name not in times:
                continue
            rate = len(files) / statistics.median(times[name])
            print(f"{label:48} {len(files):5d} {_median(times[name])} "
                  f"{_ratio(times['images: xargs'], times[name]):>8} {rate:8.2f}")
        print(f"{'batch_ocr vs the tsv run (same outputs)':48} {'':5} {'':>8} {'':>14} "
              f"{_ratio(times['images: xargs tsv'], times['images: ours']):>8}")
        if "images: auto" in times:
            print(f"{'AUTO costs x SINGLE (seconds per page)':48} {'':5} {'':>8} {'':>14} "
                  f"{_ratio(times['images: auto'], times['images: ours']):>8}")
    if not args.no_pdfs:
        ours_t = times["pdfs: ours"]
        n_pages = pages.get("pdfs: ours", 0)
        print(f"\n{'setup (PDFs)':48} {'pages':>5} {'seconds':>8} {'':>14} "
              f"{'ours is x faster':>16}")
        print(f"{'batch_ocr, SINGLE, no preprocessing':48} {n_pages:5d} {_median(ours_t)}")
        print(f"{'floor: xargs -P 2 tesseract on our rendered PNGs':48} {len(pngs):5d} "
              f"{_median(times['pdfs: xargs'])} {_ratio(times['pdfs: xargs'], ours_t):>16}")
        for setup in setups if has_ocrmypdf else []:
            name = f"pdfs: ocrmypdf {setup}"
            label = f"ocrmypdf {setup}" + (" (-j 1, 2 files at a time)"
                                           if OCRMYPDF_SETUPS[setup][1]
                                           else f" (-j {args.workers}, file after file)")
            print(f"{label:48} {n_pages:5d} {_median(times[name])} "
                  f"{_ratio(times[name], ours_t):>16}")
        if not has_ocrmypdf:
            print("ocrmypdf not installed: no PDF comparison")
    if args.per_pdf and not args.no_pdfs and has_ocrmypdf:
        per_pdf(pdf_files, args.repeat)
    return 0


def per_pdf(files: list[Path], rounds: int) -> None:
    print(f"\nPer PDF, alone on one core (median of {rounds}): ours in-process (render + "
          "1 pass/page) vs ocrmypdf -j 1 --output-type none --sidecar")
    print(f"{'file':18} {'pages':>5} {'our Mpx':>8} {'their Mpx':>9} {'ours s':>7} "
          f"{'ocrmypdf s':>10} {'ratio':>6}")
    total_ours = total_theirs = 0.0
    for path in files:
        ours_t: list[float] = []
        theirs_t: list[float] = []
        n_pages = pixels = 0
        for _ in range(rounds):
            seconds, n_pages, pixels = ours_in_process(path)
            ours_t.append(seconds)
            theirs_t.append(ocrmypdf_one(path))
        theirs_px = ocrmypdf_pixels(path)
        o, t = statistics.median(ours_t), statistics.median(theirs_t)
        total_ours += o
        total_theirs += t
        their_mpx = f"{theirs_px[1] / 1e6:9.1f}" if theirs_px else f"{'?':>9}"
        print(f"{path.name:18} {n_pages:5d} {pixels / 1e6:8.1f} {their_mpx} {o:7.1f} "
              f"{t:10.1f} {t / o:6.2f}")
    print(f"{'total':18} {'':5} {'':8} {'':9} {total_ours:7.1f} {total_theirs:10.1f} "
          f"{total_theirs / total_ours:6.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
