"""Batch OCR: sources, per-page parts, exactly-once resume after an interruption or a kill,
corrupt files recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from actors.ocr import OcrOptions, PreprocessOptions, Strategy
from actors.ocr.batch import PartStore, content_hash, process_file
from tests.ocr.helpers import SENTENCES, encode, multipage, text_page
from tests.support import REPO_ROOT
from training.batch_ocr import BatchLockedError, _lock, run_batch
from training.batch_sources import BatchSourceError, list_source

FAST = OcrOptions(strategy=Strategy.SINGLE, preprocess=PreprocessOptions.none())


def small_page(i: int) -> bytes:
    img = text_page([SENTENCES[i % len(SENTENCES)], f"Document number {i}"],
                    size=(700, 160), font_size=24, top=30)
    return encode(img, "PNG", dpi=(150, 150))


def make_source(root: Path, n_png: int = 6) -> Path:
    src = root / "src"
    (src / "nested").mkdir(parents=True)
    for i in range(n_png):
        (src / ("nested" if i % 2 else ".") / f"page{i}.png").write_bytes(small_page(i))
    tiff = multipage([text_page(["Tiff page one"], size=(500, 120), top=30),
                      text_page(["Tiff page two"], size=(500, 120), top=30)], "TIFF")
    (src / "scan.tif").write_bytes(tiff)
    (src / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (src / "copy-of-page0.png").write_bytes(small_page(0))  # duplicate content
    (src / ".hidden.png").write_bytes(small_page(99))  # hidden: ignored
    return src


def expected_keys(src: Path) -> set[tuple[str, int]]:
    keys = set()
    for path in src.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            digest = content_hash(path.read_bytes())
            pages = 2 if path.suffix == ".tif" else 1
            first = 0 if path.name == "broken.pdf" else 1
            keys.update((digest, p) for p in range(first, first + pages))
    return keys


def output_keys(out: Path) -> Counter[tuple[str, int]]:
    table = pq.read_table(out / "pages.parquet")
    return Counter(zip(table.column("content_hash").to_pylist(),
                       table.column("page").to_pylist(), strict=True))


def part_stamps(out: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (out / "parts").glob("*/*.parquet")}


def settled_parts(out: Path, quiet_s: float = 2.0, limit_s: float = 30.0
                  ) -> dict[str, tuple[int, int]]:
    """Parts once no new one has appeared for ``quiet_s``: an actor of a stopped or killed
    run may still finish the page it was on (allowed: it is then skipped, not redone)."""
    deadline = time.monotonic() + limit_s
    stamps = part_stamps(out)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = part_stamps(out)
        if now == stamps:
            break
        stamps = now
    return stamps


# -- no Ray ----------------------------------------------------------------------------------


def test_sources_directory_zip_tar_and_list(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    from_dir = list_source(src, tmp_path / "staging")
    names = sorted(display for _, display in from_dir)
    assert "nested/page1.png" in names and ".hidden.png" not in names and len(names) == 9
    archive = tmp_path / "docs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/one.png", small_page(1))
        zf.writestr("../../evil.png", small_page(2))  # path traversal is neutralised
    members = list_source(archive, tmp_path / "staging")
    assert sorted(d for _, d in members) == ["a/one.png", "evil.png"]
    assert all(Path(p).is_relative_to(tmp_path / "staging") for p, _ in members)
    tar_path = tmp_path / "docs.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tf:
        tf.add(src / "scan.tif", arcname="x/scan.tif")
    assert [d for _, d in list_source(tar_path, tmp_path / "staging")] == ["x/scan.tif"]
    listing = tmp_path / "files.txt"
    listing.write_text("# my files\nsrc/page0.png\n\n" + str(src / "scan.tif") + "\n")
    assert [p for p, _ in list_source(listing, tmp_path)] == [
        str(tmp_path / "src/page0.png"), str(src / "scan.tif")]
    with pytest.raises(BatchSourceError):
        list_source(tmp_path / "missing", tmp_path)


def test_process_file_writes_parts_and_records_corrupt_files(tmp_path: Path) -> None:
    store = PartStore(tmp_path / "out")
    rows = list(process_file("a.png", small_page(3), FAST, store))
    assert [r["status"] for r in rows] == ["done"]
    again = list(process_file("a.png", small_page(3), FAST, store))
    assert [r["status"] for r in again] == ["skipped"]
    bad = list(process_file("bad.tif", b"II*\x00 broken tiff", FAST, store))
    assert bad[0]["status"] == "error" and bad[0]["page"] == 0
    table = store.read_all().to_pylist()
    by_path = {r["source_path"]: r for r in table}
    assert "Document number 3" in by_path["a.png"]["text"] and by_path["a.png"]["error"] is None
    assert by_path["bad.tif"]["error"].startswith("CorruptDocumentError")


def _rows(store: PartStore) -> dict[tuple[str, int], tuple[Any, ...]]:
    """Per (path, page): text, confidence, fields and error (all but the seconds)."""
    return {(r["source_path"], r["page"]): (r["text"], r["confidence"], r["fields"], r["error"])
            for r in store.read_all().to_pylist()}


def test_process_files_reads_plain_pages_together_with_the_rows_of_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiff = multipage([text_page(["Tiff page one"], size=(500, 120), top=30),
                      text_page(["Tiff page two"], size=(500, 120), top=30)], "TIFF")
    jpeg = encode(text_page(["A JPEG receipt line"], size=(600, 140), top=30), "JPEG")
    items = [("a.png", small_page(1)), ("b.jpg", jpeg), ("scan.tif", tiff),
             ("c.png", small_page(2)), ("bad.png", b"\x89PNG\r\n\x1a\n broken")]
    one_by_one = PartStore(tmp_path / "one")
    for path, data in items:
        list(process_file(path, data, FAST, one_by_one))

    import actors.ocr.batch as batch

    calls: list[int] = []
    recognize_files = batch.recognize_files

    def counting(files: list[bytes], **kwargs: Any) -> Any:
        calls.append(len(files))
        return recognize_files(files, **kwargs)

    monkeypatch.setattr(batch, "recognize_files", counting)
    together = PartStore(tmp_path / "together")
    statuses = list(batch.process_files(items, FAST, together))
    assert calls == [3]  # the single-page PNGs and the JPEG, in one Tesseract process
    assert _rows(together) == _rows(one_by_one)
    assert "Document number 2" in _rows(together)[("c.png", 1)][0]
    assert sorted((s["source_path"], s["page"], s["status"]) for s in statuses) == [
        ("a.png", 1, "done"), ("b.jpg", 1, "done"), ("bad.png", 0, "error"),
        ("c.png", 1, "done"), ("scan.tif", 1, "done"), ("scan.tif", 2, "done")]
    # done pages are skipped, not read again
    again = list(batch.process_files(items, FAST, together))
    assert calls == [3] and {s["status"] for s in again} == {"skipped"}


def test_process_files_falls_back_to_one_by_one_when_the_shared_call_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import actors.ocr.batch as batch
    from actors.ocr.errors import OcrEngineError

    def failing(files: list[bytes], **_: Any) -> Any:
        raise OcrEngineError("tesseract failed on the list")

    monkeypatch.setattr(batch, "recognize_files", failing)
    store = PartStore(tmp_path / "out")
    items = [("a.png", small_page(3)), ("b.png", small_page(4))]
    assert [s["status"] for s in batch.process_files(items, FAST, store)] == ["done", "done"]
    assert "Document number 4" in _rows(store)[("b.png", 1)][0]


def test_process_files_reads_one_by_one_when_pages_are_preprocessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import actors.ocr.batch as batch

    def unexpected(files: list[bytes], **_: Any) -> Any:
        raise AssertionError("preprocessed pages are not read from their files")

    monkeypatch.setattr(batch, "recognize_files", unexpected)
    single = OcrOptions(strategy=Strategy.SINGLE)  # default preprocessing
    items = [("a.png", small_page(5)), ("b.png", small_page(6))]
    statuses = list(batch.process_files(items, single, PartStore(tmp_path / "out")))
    assert [s["status"] for s in statuses] == ["done", "done"]


def test_files_are_grouped_per_call_only_for_plain_runs_over_images(tmp_path: Path) -> None:
    from training.batch_ocr import FILES_PER_CALL, _files_per_call
    from training.batch_sources import scan

    (tmp_path / "a.png").write_bytes(small_page(1))
    (tmp_path / "b.png").write_bytes(small_page(2))
    (tmp_path / "c.tif").write_bytes(multipage([text_page(["one"], size=(300, 80)),
                                                text_page(["two"], size=(300, 80))], "TIFF"))
    images, _ = scan([(str(tmp_path / n), n) for n in ("a.png", "b.png")])
    mixed, _ = scan([(str(tmp_path / n), n) for n in ("a.png", "b.png", "c.tif")])
    assert [f.image for f in mixed] == [True, True, False]
    assert _files_per_call(images, FAST) == FILES_PER_CALL > 1
    assert _files_per_call(mixed, FAST) == 1  # a multi-page file pairs badly
    assert _files_per_call(images, OcrOptions()) == 1  # AUTO preprocesses: page by page


def test_second_run_on_the_same_output_is_locked(tmp_path: Path) -> None:
    with _lock(tmp_path), pytest.raises(BatchLockedError):
        run_batch(tmp_path / "nothing", tmp_path, options=FAST, progress_bar=False)


# -- with Ray --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_local(ray_session: Any) -> Iterator[None]:
    """The test session's local Ray (run_batch reuses an initialised Ray)."""
    yield


class Interrupt(Exception):
    pass


@pytest.mark.ray
def test_interrupted_run_resumes_exactly_once(tmp_path: Path, ray_local: None) -> None:
    src = make_source(tmp_path)
    out = tmp_path / "out"
    total = len(expected_keys(src))

    def stop_after_three(done: int, _total: int) -> None:
        if done >= 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_batch(src, out, options=FAST, on_progress=stop_after_three, progress_bar=False)
    before = settled_parts(out)
    assert 3 <= len(before) < total

    calls: list[tuple[int, int]] = []
    summary = run_batch(src, out, options=FAST, progress_bar=False,
                        on_progress=lambda d, t: calls.append((d, t)))
    after = part_stamps(out)
    assert {k: after[k] for k in before} == before  # finished pages were not redone
    assert summary.pages_skipped == len(before)
    assert summary.pages_done + summary.pages_failed == total - len(before)
    assert summary.duplicates == 1
    keys = output_keys(out)
    assert set(keys) == expected_keys(src) and max(keys.values()) == 1
    assert calls[-1] == (total, total)
    assert any("broken.pdf: CorruptDocumentError" in e for e in summary.errors)

    rerun = run_batch(src, out, options=FAST, progress_bar=False)
    assert rerun.pages_done == 0 and rerun.pages_skipped == total
    assert part_stamps(out) == after


@pytest.mark.ray
@pytest.mark.slow
def test_killed_job_resumes_exactly_once(tmp_path: Path, ray_local: None) -> None:
    src = make_source(tmp_path, n_png=10)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_THREAD_LIMIT="1")
    cmd = [sys.executable, "-m", "training.batch_ocr", str(src), str(out),
           "--strategy", "single", "--no-preprocess", "--no-progress", "--ray-address", "local"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and len(part_stamps(out)) >= 2:
                break
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray processes
        proc.wait()
    before = settled_parts(out)
    total = len(expected_keys(src))
    assert 2 <= len(before) < total, "the job finished or never started before the kill"
    summary = run_batch(src, out, options=FAST, progress_bar=False)
    after = part_stamps(out)
    assert {k: after[k] for k in before} == before
    keys = output_keys(out)
    assert set(keys) == expected_keys(src) and max(keys.values()) == 1
    assert summary.pages_skipped == len(before)


def test_no_preprocess_flag_means_plain_tesseract() -> None:
    from actors.ocr import PreprocessOptions
    from training.batch_ocr import build_parser, options_from_args

    args = build_parser().parse_args(["src", "out", "--no-preprocess"])
    assert options_from_args(args).preprocess == PreprocessOptions.none()
    args = build_parser().parse_args(["src", "out"])
    assert options_from_args(args).preprocess == PreprocessOptions()
