"""Batch OCR with Ray Data: a directory tree, a zip/tar archive or a list file in, one
Parquet row per page out. Resumable and exactly-once.

    python -m training.batch_ocr SRC OUT [--strategy single|auto] [--lang eng] ...

Layout of OUT:
- ``parts/<hh>/<sha256>-p<page>.parquet``: one row per page, written atomically (temp file +
  rename) the moment the page is finished; its existence marks (content hash, page) as done.
  Page 0 is the row of a file that failed as a whole (corrupt, unsupported, encrypted...).
- ``pages.parquet``: all parts in one file, rewritten atomically at the end of each run.
- ``staging/``: members extracted from an archive source.

Kill the job at any moment and run it again: finished pages are skipped (never recomputed),
interrupted ones are done again, and every (content hash, page) appears exactly once. Two
runs on the same OUT at the same time are refused (a lock file).

Ray Data layout: ``read_binary_files(paths, include_paths=True)`` feeds ``map_batches`` with a
callable class (one OCR worker per actor, set up once), ``concurrency`` actors. Resources follow
the suite's model (`config.workloads`): each actor takes one slot of the ``batch`` pool and a
read task one unit of its task lane, none of them a logical CPU, so the run schedules beside a
serving suite (whose replicas hold the CPUs) and the actors run at a lower priority than
requests.
Each page's status names the node that OCRed it.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from tqdm import tqdm

from actors.ocr.batch import PartStore, process_files
from actors.ocr.errors import OcrError
from actors.ocr.options import OcrOptions, PreprocessOptions, Strategy, TextLayerMode
from actors.ocr.pipeline import reads_file_as_is
from config.workloads import (
    ACTOR_SLOTS,
    batch_options,
    batch_task_options,
    lower_priority,
)
from training.batch_sources import BatchSourceError, SourceFile, list_source, scan
from training.ray_connect import init_address, init_local

# Files per actor call under plain SINGLE (``reads_file_as_is``) when at least
# GROUP_MIN_IMAGE_SHARE of the files are single-page images: one Tesseract process reads
# those of a call together. 2 saves ~6% of the CPU per page on data/ocr; larger calls save a
# little more but leave one actor alone with a bigger last call (simulated on the 43
# images). Multi-page files and PDFs gain nothing and only balance worse in pairs (the 7
# PDFs of data/ocr: 14.0 s one per call, 20.2 s two per call).
FILES_PER_CALL = 2
READ_CONCURRENCY = 2
GROUP_MIN_IMAGE_SHARE = 0.9

ProgressHook = Callable[[int, int], None]
"""``on_progress(pages_finished, pages_total)``; called after each page (skipped ones
included). Raising from it stops the run (the pages finished so far stay done)."""


class BatchLockedError(RuntimeError):
    """Another run holds the output directory."""


@dataclass
class BatchSummary:
    files: int = 0  # distinct files (by content) in the source
    duplicates: int = 0  # files whose content equals an earlier file (not OCRed twice)
    pages_total: int = 0  # pages expected (a file that cannot be opened counts as 1)
    pages_done: int = 0  # pages OCRed in this run
    pages_skipped: int = 0  # pages already done by an earlier run
    pages_failed: int = 0  # rows written with an error in this run
    rows_in_output: int = 0
    seconds: float = 0.0
    pages_per_s: float = 0.0
    output: str = ""
    errors: list[str] = field(default_factory=list)
    pages_by_node: dict[str, int] = field(default_factory=dict)
    """Pages OCRed in this run per Ray node (its IP)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the Ray part ----------------------------------------------------------------------------


class OcrWorker:
    """Callable class for ``map_batches``: set up once per actor; one file per call, or
    :data:`FILES_PER_CALL` when the options read files as they are and nearly all files
    are single-page images (``process_files`` then OCRs them in one Tesseract process)."""

    def __init__(self, out: str, options: dict[str, Any], display: dict[str, str]) -> None:
        import ray

        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        lower_priority()  # a batch process: requests on the same cores come first
        self.store = PartStore(Path(out))
        self.options = OcrOptions.from_dict(options)
        self.display = display
        self.node = ray.util.get_node_ip_address()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        rows: dict[str, list[Any]] = {
            "source_path": [], "content_hash": [], "page": [], "status": [], "seconds": [],
            "node": [],
        }
        items = [(self.display.get(str(path), str(path)), bytes(data))
                 for path, data in zip(batch["path"], batch["bytes"], strict=True)]
        for status in process_files(items, self.options, self.store):
            for key in rows:
                rows[key].append(status[key] if key != "node" else self.node)
        return rows


def _options_dict(options: OcrOptions) -> dict[str, Any]:
    data = options.to_dict()
    data["text_layer"] = str(options.text_layer)
    data["strategy"] = str(options.strategy)
    return data


@contextmanager
def _lock(out: Path) -> Iterator[None]:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchLockedError(f"another batch OCR run is using {out}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_ray(address: str | None, num_cpus: int | None, verbose: bool = False) -> None:
    """Ray for this run: the one initialised in this process, else exactly ``address``, else
    the job's cluster (``RAY_ADDRESS``, set for a Ray job's driver), else a new local
    instance with the suite's resource model. Never a cluster found by looking around."""
    import ray

    if ray.is_initialized():
        return
    target = address or os.environ.get("RAY_ADDRESS") or "local"
    if target == "local":
        init_local(num_cpus or os.cpu_count() or 2, verbose=verbose)
    else:
        init_address(target, verbose=verbose)


@dataclass(frozen=True)
class PageStatus:
    """One finished page, as the pipeline reports it."""

    state: str  # done, skipped or error
    node: str  # IP of the Ray node whose actor handled it


def _statuses(
    pending: list[SourceFile], out: Path, options: OcrOptions, concurrency: int,
    ray_address: str | None, ray_num_cpus: int | None, verbose: bool,
) -> Generator[PageStatus, None, None]:
    """Run the Ray Data pipeline over ``pending``; yield one status per page as it finishes."""
    if not pending:
        return
    _ensure_ray(ray_address, ray_num_cpus, verbose)
    import ray
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = verbose
    ctx.execution_options.preserve_order = False
    if not verbose:
        import logging

        logging.getLogger("ray.data").setLevel(logging.ERROR)
    cluster = ray.cluster_resources()
    display = {f.path: f.display for f in pending}
    # Longest first (pages, then bytes): the last files handed out are short, so the actors
    # finish together instead of one running a long PDF alone at the end.
    ordered = sorted(pending, key=lambda f: (-f.pages, -_size(f.path), f.path))
    ds = ray.data.read_binary_files(
        [f.path for f in ordered], include_paths=True, override_num_blocks=len(ordered),
        # a few reads at a time: each concurrent task is a Python worker process to start
        concurrency=READ_CONCURRENCY, **batch_task_options(cluster),
    ).map_batches(
        OcrWorker,
        fn_constructor_kwargs={"out": str(out), "options": _options_dict(options),
                               "display": display},
        batch_size=_files_per_call(pending, options),
        # Ray's default of 2 files in flight per actor: with 1 the actor idles between files
        # while the next is dispatched (43 images: 7% slower).
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        batch_format="numpy",
        **batch_options(ACTOR_SLOTS, cluster),
    )
    batches = ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0)
    try:
        for batch in batches:
            for state, node in zip(batch["status"], batch["node"], strict=True):
                yield PageStatus(str(state), str(node))
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def progress(total: int, initial: int, disable: bool | None) -> tqdm:
    """The terminal progress bar: pages done/total, pages/s and the time left."""
    # a terminal that reports no size (a bare pty: 0 x 0) gets 100 x 24; tqdm would draw
    # nothing at all there
    size = shutil.get_terminal_size((100, 24))
    return tqdm(total=total, initial=initial, unit="page", desc="OCR", file=sys.stderr,
                disable=disable, ncols=size.columns or 100, nrows=size.lines or 24,
                smoothing=0.1, mininterval=0.5,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} pages "
                           "[{elapsed}<{remaining}, {rate_fmt}]")


def _files_per_call(pending: list[SourceFile], options: OcrOptions) -> int:
    images = sum(f.image for f in pending)
    grouped = reads_file_as_is(options) and images >= GROUP_MIN_IMAGE_SHARE * len(pending)
    return FILES_PER_CALL if grouped else 1


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def run_batch(
    src: str | Path,
    out: str | Path,
    *,
    options: OcrOptions | None = None,
    concurrency: int = 2,
    on_progress: ProgressHook | None = None,
    progress_bar: bool | None = None,
    ray_address: str | None = None,
    ray_num_cpus: int | None = None,
    verbose: bool = False,
) -> BatchSummary:
    """OCR every page under ``src`` into ``out`` (see the module docstring for the layout).

    ``options`` defaults to ``OcrOptions(text_layer="skip")`` (PDF text layers are kept).
    Ray: see :func:`_ensure_ray`. ``progress_bar``: a bar on stderr (pages done/total,
    pages/s, ETA); None shows it when stderr is a terminal. ``verbose`` lets Ray's own logs
    through. Returns counts; raises :class:`BatchSourceError` / :class:`BatchLockedError`.
    """
    started = time.perf_counter()
    options = options or OcrOptions(text_layer=TextLayerMode.SKIP)
    src_path, out_path = Path(src), Path(out)
    store = PartStore(out_path)
    summary = BatchSummary(output=str(out_path / "pages.parquet"))
    with _lock(out_path):
        store.clean_temp()
        files, summary.duplicates = scan(list_source(src_path, out_path / "staging"))
        summary.files = len(files)
        summary.pages_total = sum(f.pages for f in files)
        done = store.done_keys()
        finished_hashes = {h for (h, p) in done if p == 0}
        pending = [
            f for f in files
            if f.digest not in finished_hashes
            and not all((f.digest, p) in done for p in range(1, f.pages + 1))
        ]
        already = summary.pages_total - sum(f.pages for f in pending)
        summary.pages_skipped = already
        bar = progress(summary.pages_total, already,
                       None if progress_bar is None else not progress_bar)
        finished = already
        if on_progress is not None:
            on_progress(finished, summary.pages_total)
        statuses = _statuses(pending, out_path, options, concurrency, ray_address,
                             ray_num_cpus, verbose)
        try:
            for status in statuses:
                if status.state == "skipped":
                    summary.pages_skipped += 1
                elif status.state == "error":
                    summary.pages_failed += 1
                else:
                    summary.pages_done += 1
                    summary.pages_by_node[status.node] = (
                        summary.pages_by_node.get(status.node, 0) + 1)
                finished += 1  # a page-0 row (file failed as a whole) counts as one page
                bar.update(1)
                if on_progress is not None:
                    on_progress(finished, summary.pages_total)
        finally:
            statuses.close()  # stops the Ray Data execution (and its actors) when interrupted
            bar.close()
        table = store.read_all()
        tmp = out_path / ".pages.parquet.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, out_path / "pages.parquet")
        summary.rows_in_output = table.num_rows
        summary.errors = sorted(
            {f"{p}: {e}" for p, e in zip(table.column("source_path").to_pylist(),
                                          table.column("error").to_pylist(), strict=True) if e}
        )
    summary.seconds = round(time.perf_counter() - started, 3)
    work = summary.pages_done + summary.pages_failed
    summary.pages_per_s = round(work / summary.seconds, 3) if summary.seconds else 0.0
    return summary


# -- entry point -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.batch_ocr", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", help="directory, zip/tar archive, or list file of paths")
    parser.add_argument("out", help="output directory (parts/ and pages.parquet)")
    parser.add_argument("--strategy", choices=[s.value for s in Strategy], default="auto")
    parser.add_argument("--lang", default="eng")
    parser.add_argument("--psm", type=int, default=3)
    parser.add_argument("--dpi", type=int, default=None,
                        help="PDF render resolution of every page (default: scanned pages "
                             "at their images' resolution, 200-400 dpi; others at 300)")
    parser.add_argument("--text-layer", choices=[m.value for m in TextLayerMode], default="skip")
    parser.add_argument("--no-preprocess", action="store_true",
                        help="no preprocessing and no OSD (plain Tesseract on the page)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--max-pages", type=int, default=2000)
    parser.add_argument("--page-timeout", type=float, default=300.0)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="show Ray's own logs")
    parser.add_argument("--ray-address", default=None,
                        help="Ray address (default: the job's cluster or a new local one; "
                             "'local' forces a new local instance)")
    return parser


def options_from_args(args: argparse.Namespace) -> OcrOptions:
    pre = PreprocessOptions.none() if args.no_preprocess else PreprocessOptions()
    return OcrOptions(lang=args.lang, psm=args.psm, dpi=args.dpi,
                      text_layer=TextLayerMode(args.text_layer),
                      strategy=Strategy(args.strategy), preprocess=pre,
                      max_pages=args.max_pages, page_timeout_s=args.page_timeout)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = run_batch(
            args.src, args.out, options=options_from_args(args),
            concurrency=args.concurrency, progress_bar=False if args.no_progress else None,
            ray_address=args.ray_address, verbose=args.verbose,
        )
    except (BatchSourceError, BatchLockedError, OcrError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import json

    print(json.dumps(summary.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
