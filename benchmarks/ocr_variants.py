"""Every candidate variant of one page, recognised once and cached on disk, for the
cross-validated choice of AUTO's defaults (``benchmarks/ocr_accuracy.py``).

Per page: stock Tesseract (``tesseract FILE stdout --psm 3``), the page as given (AUTO's
first pass), and on the page AUTO derives its variants from (``ready_page``) the straightened
page (when skewed), one variant per cleanup step (all five, also the ones off by default)
the OSD rotation; the first pass's paragraph count and whether it measured the text
(``keeps_layout``). A narrow page (``layout_psm`` gives the narrow psm) has its deskew and
cleanup variants recognised a second time with psm 3 (``NAME@psm3``): the narrow-psm
ablation. Every record holds the text, Tesseract's score and character count, the seconds
and the edit distance to the reference, so every configuration is chosen by arithmetic.

Cache: ``$OCR_VARIANT_CACHE`` (default ``/tmp/h14ocr-cache``) / sha256(file, page, skew) /
``VARIANT.json``; delete it to measure again.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from actors.ocr.loading import iter_pages
from actors.ocr.metrics import levenshtein, normalize_text
from actors.ocr.options import OcrOptions, Strategy, TextLayerMode
from actors.ocr.pipeline import (
    CLEANUPS,
    SKEW_GATE_DEG,
    Variant,
    _osd,
    ready_page,
    rotated,
    run_variant,
)

CACHE = Path(os.environ.get("OCR_VARIANT_CACHE", "/tmp/h14ocr-cache"))
# Every cleanup on, never confident enough to stop early: all variants are recognised.
EVERYTHING = OcrOptions(
    strategy=Strategy.AUTO, text_layer=TextLayerMode.FORCE, page_timeout_s=900)
EVERYTHING = replace(EVERYTHING, preprocess=replace(
    EVERYTHING.preprocess, denoise=True, clahe=True, contrast=True, binarize=True,
    border_removal=True, confident_score=101.0))
VERSION = "v1"
# 2: the first pass's paragraph count and whether it measured the text size.
META_VERSION = 2


@dataclass
class PageJob:
    file: str  # relative to the data directory
    collection: str
    page: int  # 0-based
    gt: str
    tags: str


def page_key(data: bytes, job: PageJob) -> str:
    h = hashlib.sha256(data)
    h.update(f"|{job.page}|{VERSION}".encode())
    return h.hexdigest()[:24]


def _errors(ref: str, text: str) -> int:
    return levenshtein(normalize_text(ref, case_insensitive=True),
                       normalize_text(text, case_insensitive=True))


def _record(name: str, variant: Variant | None, text: str, seconds: float, ref: str,
            **extra: Any) -> dict[str, Any]:
    rec = variant.recognition if variant is not None else None
    return {"name": name, "text": text, "seconds": round(seconds, 3),
            "score": rec.score if rec else None, "chars": rec.char_count if rec else None,
            "errors": _errors(ref, text), **extra}


class _Cache:
    def __init__(self, key: str) -> None:
        self.dir = CACHE / key
        self.dir.mkdir(parents=True, exist_ok=True)

    def get(self, name: str) -> dict[str, Any] | None:
        path = self.dir / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def put(self, record: dict[str, Any]) -> dict[str, Any]:
        path = self.dir / f"{record['name']}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)
        return record


def stock_tesseract(path: Path) -> str:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    result = subprocess.run(["tesseract", str(path), "stdout", "-l", "eng", "--psm", "3"],
                            capture_output=True, env=env, check=True, timeout=900)
    return result.stdout.decode("utf-8", errors="replace")


def is_cached(job: PageJob, data_dir: Path) -> bool:
    """Whether every variant of ``job``'s page is in the cache."""
    cache = _Cache(page_key((data_dir / job.file).read_bytes(), job))
    return _complete(cache, cache.get("_page"))


def _complete(cache: _Cache, meta: dict[str, Any] | None) -> bool:
    """Whether ``meta`` (a page's ``_page`` record) is of this version and every variant it
    lists is cached; variants added since are then recognised, the others read back."""
    return (meta is not None and meta.get("meta_version") == META_VERSION
            and all((cache.dir / f"{n}.json").exists() for n in meta["variants"]))


def page_variants(job: PageJob, data_dir: Path) -> dict[str, Any]:
    """All variant records of one page (from the cache where there), plus page facts."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    path = data_dir / job.file
    data = path.read_bytes()
    cache = _Cache(page_key(data, job))
    ref_len = len(normalize_text(job.gt, case_insensitive=True))
    meta = cache.get("_page")
    if _complete(cache, meta):
        assert meta is not None
        return {**meta, "records": {n: cache.get(n) for n in meta["variants"]}}
    page = next(p for p in iter_pages(data, EVERYTHING) if p.index == job.page)
    records: dict[str, dict[str, Any]] = {}
    if (rec := cache.get("stock")) is None:
        t0 = time.perf_counter()
        if path.suffix.lower() == ".pdf":
            from PIL import Image

            assert page.image is not None
            with tempfile.TemporaryDirectory() as tmp:
                png = Path(tmp) / "page.png"
                Image.fromarray(page.image).save(png, dpi=(300, 300))
                text = stock_tesseract(png)
        else:
            text = stock_tesseract(path)
        rec = cache.put(_record("stock", None, text, time.perf_counter() - t0, job.gt))
    records["stock"] = rec
    options = EVERYTHING
    from actors.ocr.pipeline import original

    base = original(page, options.preprocess)
    first = run_variant(base, options)
    records["original"] = cache.get("original") or cache.put(
        _record("original", base, first.text, base.seconds, job.gt))
    ready = ready_page(page, options, first)
    skewed = abs(ready.skew) >= SKEW_GATE_DEG
    narrow = ready.psm is not None
    psms: list[tuple[str, int | None]] = [("", ready.psm)] + ([("@psm3", None)] if narrow else [])

    def run(name: str, make: Any) -> None:
        if (rec := cache.get(name)) is None:
            variant = make()
            run_variant(variant, options)
            assert variant.recognition is not None
            rec = cache.put(_record(name, variant, variant.recognition.text, variant.seconds,
                                    job.gt))
        records[name] = rec

    for suffix, psm in psms:
        base_ready = replace(ready, psm=psm, recognition=None, steps=list(ready.steps))
        if skewed:
            run(f"deskew{suffix}",
                lambda b=base_ready: b.derive("deskew", b.image, "straightened"))
        for step, fn in CLEANUPS.items():
            run(f"{step}{suffix}", lambda b=base_ready, f=fn, s=step: b.derive(s, f(b.image), s))
    osd = cache.get("_osd")
    if osd is None:
        t0 = time.perf_counter()
        found = _osd(ready, options)
        osd = cache.put({"name": "_osd", "rotate": found.rotate if found else 0,
                         "confidence": found.confidence if found else 0.0,
                         "seconds": round(time.perf_counter() - t0, 3)})
    if osd["rotate"]:
        run("rotate", lambda: rotated(ready, osd["rotate"], options.preprocess))
    meta = {"name": "_page", "file": job.file, "page": job.page, "collection": job.collection,
            "ref_len": ref_len, "skewed": skewed, "narrow": narrow, "osd_s": osd["seconds"],
            "meta_version": META_VERSION, "paragraphs": first.paragraph_count,
            "sized": first.text_width is not None,
            "variants": sorted(records)}
    cache.put(meta)
    return {**meta, "records": records}


def manifest_jobs(data_dir: Path, limit: int | None = None) -> list[PageJob]:
    """The pages of ``manifest.csv`` with a ground truth (one per image file)."""
    import pandas as pd

    manifest = pd.read_csv(data_dir / "manifest.csv")
    out: list[PageJob] = []
    scored = manifest[manifest.tesseract_cer.notna()]
    for collection, group in scored.groupby("collection", sort=True):
        rows = group if limit is None else group.head(limit)
        for _, row in rows.iterrows():
            gt = (data_dir / row.gt_file).read_text(encoding="utf-8")
            out.append(PageJob(row.file, str(collection), 0, gt, str(row.tags)))
    return out
