"""`armillary ocr batch SRC OUT`: the argparse wiring of `cluster.ocr_batch`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from config.settings import Settings


def add_parser(sub: Any) -> None:
    ocr = sub.add_parser("ocr", help="document OCR").add_subparsers(dest="action",
                                                                    required=True)
    batch = ocr.add_parser(
        "batch", help="OCR every page under SRC into OUT (Parquet) and the Warehouse",
        description="Resumable: rerun the same command after a kill; finished pages are "
                    "kept, none is duplicated (in OUT or in the Warehouse table).")
    batch.add_argument("src", help="directory, zip/tar archive, or list file of paths")
    batch.add_argument("out", help="output folder (parts/ and pages.parquet)")
    batch.add_argument("--lang", default="eng", help="Tesseract languages, e.g. eng+deu")
    batch.add_argument("--psm", type=int, default=3, help="page segmentation mode")
    batch.add_argument("--dpi", type=int, default=None,
                       help="PDF render resolution of every page (default: scanned pages at "
                            "their images' resolution, 200-400 dpi; others at 300)")
    batch.add_argument("--strategy", choices=["single", "auto"], default="auto")
    batch.add_argument("--text-layer", choices=["error", "skip", "redo", "force"],
                       default="skip")
    batch.add_argument("--no-preprocess", action="store_true",
                       help="plain Tesseract on the page (no OpenCV steps, no OSD)")
    batch.add_argument("--concurrency", type=int, default=2, help="OCR actors")
    batch.add_argument("--max-pages", type=int, default=2000, help="per document")
    batch.add_argument("--page-timeout", type=float, default=300.0, help="seconds per page")
    batch.add_argument("--owner", default=None, help="user the job belongs to (default admin)")
    batch.add_argument("--table", default=None, help="Warehouse table (default: settings)")
    batch.add_argument("--no-progress", action="store_true",
                       help="no progress bar (default: one when stderr is a terminal)")
    batch.add_argument("--verbose", action="store_true", help="show Ray's own log lines")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from actors.ocr.errors import OcrError
    from actors.ocr.options import OcrOptions, PreprocessOptions, Strategy, TextLayerMode
    from cluster.ocr_batch import BatchRequest, batch_command
    from training.batch_ocr import BatchLockedError
    from training.batch_sources import BatchSourceError

    try:
        options = OcrOptions(
            lang=args.lang, psm=args.psm, dpi=args.dpi, strategy=Strategy(args.strategy),
            text_layer=TextLayerMode(args.text_layer), max_pages=args.max_pages,
            page_timeout_s=args.page_timeout,
            preprocess=PreprocessOptions.none() if args.no_preprocess else PreprocessOptions())
        if args.concurrency < 1:
            raise ValueError("--concurrency must be at least 1")
        request = BatchRequest(
            Path(args.src).resolve(), Path(args.out).resolve(), options, args.concurrency,
            args.owner, args.table or settings.ocr_pages_table,
            False if args.no_progress else None, args.verbose)
        result = batch_command(settings, request)
    except (OcrError, BatchSourceError, BatchLockedError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    print(json.dumps(result, indent=2))
    return 0
