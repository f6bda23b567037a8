"""A Tesseract process killed by a signal (a stopped job, the OOM killer) is not a failure
of the page it was reading: it is started again, and when it is killed every time the
page is left undone (no part, no error row), never recorded with an error and empty text.

The real Tesseract runs here, through a script that kills itself on chosen calls
(:class:`tests.ocr.helpers.KillingTesseract`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytesseract import pytesseract as _tess

from actors.ocr import OcrOptions, PreprocessOptions, Strategy
from actors.ocr.batch import PartStore, content_hash, process_file, process_files
from actors.ocr.errors import EngineInterruptedError, OcrEngineError
from actors.ocr.recognize import ENGINE_RETRIES, recognize
from tests.ocr.helpers import SENTENCES, KillingTesseract, encode, multipage, text_page

FAST = OcrOptions(strategy=Strategy.SINGLE, preprocess=PreprocessOptions.none())
ATTEMPTS = 1 + ENGINE_RETRIES


def small_page(i: int) -> bytes:
    img = text_page([SENTENCES[i % len(SENTENCES)], f"Document number {i}"],
                    size=(700, 160), font_size=24, top=30)
    return encode(img, "PNG", dpi=(150, 150))


def two_page_tiff() -> bytes:
    return multipage([text_page(["Tiff page one"], size=(500, 120), top=30),
                      text_page(["Tiff page two"], size=(500, 120), top=30)], "TIFF")


@pytest.fixture
def killer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KillingTesseract:
    killing = KillingTesseract(tmp_path / "killing-tesseract")
    monkeypatch.setattr(_tess, "tesseract_cmd", killing.command)
    return killing


def _rows(store: PartStore) -> dict[tuple[str, int], dict[str, object]]:
    return {(r["source_path"], r["page"]): r for r in store.read_all().to_pylist()}


def test_a_killed_tesseract_is_started_again(killer: KillingTesseract) -> None:
    killer.kill_on(1)
    rec = recognize(None, encoded=small_page(2))
    assert "Document number 2" in rec.text
    assert killer.calls == 2


def test_a_tesseract_killed_every_time_is_an_interruption_named_by_its_signal(
    killer: KillingTesseract
) -> None:
    killer.kill_on(every=True)
    with pytest.raises(EngineInterruptedError, match="tesseract was killed by SIGKILL"):
        recognize(None, encoded=small_page(2))
    assert killer.calls == ATTEMPTS  # bounded


def test_a_failing_tesseract_is_an_engine_error_and_not_started_again(
    killer: KillingTesseract
) -> None:
    with pytest.raises(OcrEngineError, match=r"tesseract failed: .*cannot be read") as caught:
        recognize(None, encoded=b"not an image at all")
    assert not isinstance(caught.value, EngineInterruptedError)
    assert killer.calls == 1


def test_process_file_reads_a_page_again_after_its_tesseract_was_killed(
    tmp_path: Path, killer: KillingTesseract
) -> None:
    killer.kill_on(1)
    store = PartStore(tmp_path / "out")
    statuses = list(process_file("a.png", small_page(3), FAST, store))
    assert [(s["page"], s["status"]) for s in statuses] == [(1, "done")]
    row = _rows(store)[("a.png", 1)]
    assert row["error"] is None and "Document number 3" in str(row["text"])
    assert killer.calls == 2


def test_process_file_leaves_a_page_whose_tesseract_is_always_killed_undone(
    tmp_path: Path, killer: KillingTesseract
) -> None:
    data = two_page_tiff()
    digest = content_hash(data)
    store = PartStore(tmp_path / "out")
    killer.kill_on(*range(2, 2 + ATTEMPTS))  # page 1 is read; page 2 killed every time
    statuses = []
    with pytest.raises(EngineInterruptedError, match="SIGKILL"):
        for status in process_file("scan.tif", data, FAST, store):
            statuses.append(status)
    assert [(s["page"], s["status"]) for s in statuses] == [(1, "done")]
    assert store.done_keys() == {(digest, 1)}  # no part for page 2, no page-0 error row
    assert killer.calls == 1 + ATTEMPTS

    killer.kill_on()  # the next run, with Tesseract left alone
    again = list(process_file("scan.tif", data, FAST, store))
    assert [(s["page"], s["status"]) for s in again] == [(1, "skipped"), (2, "done")]
    rows = _rows(store)
    assert set(rows) == {("scan.tif", 1), ("scan.tif", 2)}
    assert rows[("scan.tif", 2)]["error"] is None
    assert "page two" in str(rows[("scan.tif", 2)]["text"]).lower()


def test_process_files_reads_the_files_together_again_after_a_kill(
    tmp_path: Path, killer: KillingTesseract
) -> None:
    killer.kill_on(1)  # the shared call
    store = PartStore(tmp_path / "out")
    items = [("a.png", small_page(3)), ("b.png", small_page(4))]
    statuses = list(process_files(items, FAST, store))
    assert [s["status"] for s in statuses] == ["done", "done"]
    assert killer.calls == 2  # the shared call, started again
    rows = _rows(store)
    assert rows[("a.png", 1)]["error"] is None and rows[("b.png", 1)]["error"] is None
    assert "Document number 4" in str(rows[("b.png", 1)]["text"])


def test_process_files_records_nothing_when_tesseract_is_always_killed(
    tmp_path: Path, killer: KillingTesseract
) -> None:
    killer.kill_on(every=True)
    store = PartStore(tmp_path / "out")
    items = [("a.png", small_page(3)), ("b.png", small_page(4))]
    with pytest.raises(EngineInterruptedError, match="SIGKILL"):
        list(process_files(items, FAST, store))
    assert store.done_keys() == set()  # neither the shared call nor a file wrote a row
    assert killer.calls == 2 * ATTEMPTS  # the shared call, then the first file alone

    killer.kill_on()  # the next run
    statuses = list(process_files(items, FAST, store))
    assert [s["status"] for s in statuses] == ["done", "done"]
    rows = _rows(store)
    assert {key: row["error"] for key, row in rows.items()} == {("a.png", 1): None,
                                                              ("b.png", 1): None}
    assert "Document number 3" in str(rows[("a.png", 1)]["text"])
