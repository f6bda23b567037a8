"""Durable OCR jobs and shared page images, on two replicas
(:mod:`tests.deployments.ocr_replicas`):

- A takes a job and dies in the middle of the document (or after its pages were stored):
  B gets the task again and completes it, with one set of pages.
- A job whose workers keep dying fails with a reason; the upload blob goes when the job
  ends (kept with ``ocr_keep_uploads``).
- A job whose Tesseract is killed by a signal on every try is delivered again, not failed
  with the killed process as the document's error.
- A page image and PDF made by A are served by B; nothing is on either replica's disk.
- Bad input on the async path is still a 4xx, and stores and queues nothing.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from pytesseract import pytesseract as _tess

from actors.ocr.recognize import ENGINE_RETRIES
from deployments.ocr.errors import UnknownDocumentError
from deployments.ocr.jobs import OCR_QUEUE
from storage.records.jobs import job_channel
from tests.deployments.analytics_support import wait_for_job
from tests.deployments.ocr_replicas import (
    OCR,
    Replicas,
    count_recognised,
    stall_at,
)
from tests.deployments.ocr_support import encrypted_pdf, png_page, tiny_tiff, two_page_tiff
from tests.ocr.helpers import KillingTesseract


def test_job_survives_its_worker_dying_mid_document(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    stall_at(replicas.a, 1, monkeypatch)  # A dies after page 1 of 2
    started = replicas.upload(two_page_tiff(), "scan.tif", strategy="single", pdf="true")
    assert started.status_code == 202, started.text
    job_id, doc_id = started.json()["job_id"], started.json()["document_id"]
    replicas.wait(lambda: replicas.job(job_id)["done"] == 1)
    assert "page-0001.png" in replicas.blob_names(doc_id)
    replicas.api.run(replicas.a.stop)  # A dies holding the task
    assert replicas.job(job_id)["status"] == "running"

    assert sorted(n for n in replicas.blob_names(doc_id) if n.startswith("done-")) == [
        "done-0001.json", "done-0001.pdf"]  # page 1's checkpoint

    b = replicas.b()
    recognised = count_recognised(b, monkeypatch)
    replicas.start(b)
    job = wait_for_job(replicas.get, job_id, timeout_s=120)
    assert job["status"] == "succeeded", job["error"]
    assert job["done"] == job["total"] == 2 and job["result"]["document_id"] == doc_id
    assert recognised == [2]  # B resumed page 1 from A's checkpoint
    assert replicas.api.run(replicas.a.stores.eventbus.pending, OCR_QUEUE) == 0

    doc = replicas.api.run(b.document, doc_id, replicas.analyst_id)
    assert doc["status"] == "succeeded" and doc["job_id"] == job_id
    assert [p["page"] for p in doc["page_results"]] == [1, 2]
    assert "Invoice number 2" in doc["page_results"][1]["text"]
    assert replicas.page_rows(doc_id)[0] == 2  # exactly one set of pages
    image = replicas.api.run(b.page_image, doc_id, 2, replicas.analyst_id)
    assert Image.open(io.BytesIO(image)).size == (doc["page_results"][1]["width"],
                                                  doc["page_results"][1]["height"])
    pdf = replicas.api.run(b.searchable_pdf, doc_id, None)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2  # page 1's part from the checkpoint
    # the upload is deleted once the job ended; what the document serves stays
    assert sorted(replicas.blob_names(doc_id)) == ["page-0001.png", "page-0002.png",
                                                   "searchable.pdf"]
    if hasattr(replicas.a.stores.eventbus, "read_after"):  # the embedded bus keeps a log
        events, _ = replicas.api.run(replicas.a.stores.eventbus.read_after,
                                     job_channel(job_id), 0, 1.0)
        steps = [(e["status"], e.get("done")) for e in events]
        assert steps.count(("running", 1)) == 2  # once by A, once by B
        assert steps[-1][0] == "succeeded"


def test_worker_dying_after_storing_pages_leaves_one_set(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stores the pages in the Warehouse and dies before the document row says so: B
    OCRs the document again but does not insert its pages a second time."""

    async def hang(*_: Any) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(replicas.a.documents, "succeed", hang)
    started = replicas.upload(two_page_tiff(), "scan.tif", strategy="single")
    assert started.status_code == 202, started.text
    job_id, doc_id = started.json()["job_id"], started.json()["document_id"]
    replicas.wait(lambda: replicas.page_rows(doc_id)[0] > 0)
    replicas.api.run(replicas.a.stop)
    died_at = time.time()

    replicas.start(replicas.b())
    job = wait_for_job(replicas.get, job_id, timeout_s=120)
    assert job["status"] == "succeeded", job["error"]
    rows, newest = replicas.page_rows(doc_id)
    assert rows == 2 and newest < died_at  # A's rows, none inserted by B
    doc = replicas.get(f"{OCR}/documents/{doc_id}").json()
    assert doc["status"] == "succeeded" and len(doc["page_results"]) == 2


def test_job_interrupted_too_often_fails_with_its_reason(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    stall_at(replicas.a, 0, monkeypatch)
    started = replicas.upload(png_page(["Interrupted"]), "one.png", params={"async": "true"},
                              strategy="single")
    assert started.status_code == 202, started.text
    job_id, doc_id = started.json()["job_id"], started.json()["document_id"]
    replicas.wait(lambda: replicas.job(job_id)["status"] == "running")
    assert "upload" in replicas.blob_names(doc_id)  # kept while the job can still run
    replicas.api.run(replicas.a.stop)

    replicas.start(replicas.b(ocr_job_max_attempts=1))
    job = wait_for_job(replicas.get, job_id, timeout_s=60)
    assert job["status"] == "failed" and "interrupted 1 times" in job["error"], job
    doc = replicas.get(f"{OCR}/documents/{doc_id}").json()
    assert doc["status"] == "failed" and doc["error"] == job["error"]
    assert replicas.blob_names(doc_id) == {}
    assert replicas.api.run(replicas.a.stores.eventbus.pending, OCR_QUEUE) == 0


def test_job_whose_tesseract_is_killed_is_delivered_again(
    replicas: Replicas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killer = KillingTesseract(tmp_path / "killing-tesseract")
    monkeypatch.setattr(_tess, "tesseract_cmd", killer.command)
    killer.kill_on(1)  # a synchronous upload: started again within the request
    response = replicas.upload(png_page(["Killed once"]), "sync.png", strategy="single")
    assert response.status_code == 200, response.text
    assert "Killed once" in response.json()["page_results"][0]["text"]

    attempts = 1 + ENGINE_RETRIES
    killer.kill_on(*range(1, 1 + attempts))  # every try of the first delivery
    started = replicas.upload(png_page(["Killed every time"]), "one.png",
                              params={"async": "true"}, strategy="single")
    assert started.status_code == 202, started.text
    job_id, doc_id = started.json()["job_id"], started.json()["document_id"]
    job = wait_for_job(replicas.get, job_id, timeout_s=120)
    assert job["status"] == "succeeded", job["error"]
    assert killer.calls > attempts  # the second delivery read it
    doc = replicas.get(f"{OCR}/documents/{doc_id}").json()
    assert doc["status"] == "succeeded"
    assert "Killed every time" in doc["page_results"][0]["text"]


def test_page_image_and_pdf_made_by_one_replica_are_served_by_another(
    replicas: Replicas
) -> None:
    response = replicas.upload(png_page(["Shared page image"]), "one.png", strategy="single",
                               pdf="true")
    assert response.status_code == 200, response.text
    doc = response.json()
    served_by_a = replicas.get(doc["page_image_urls"][0])
    assert served_by_a.status_code == 200 and served_by_a.content.startswith(b"\x89PNG")

    b = replicas.b()
    owner = replicas.analyst_id
    assert replicas.api.run(b.page_image, doc["id"], 1, owner) == served_by_a.content
    assert replicas.api.run(b.searchable_pdf, doc["id"], owner) == \
        replicas.get(doc["pdf_url"]).content
    assert replicas.api.run(b.document, doc["id"], owner)["text"] == doc["text"]
    with pytest.raises(UnknownDocumentError):
        replicas.api.run(b.page_image, doc["id"], 1, uuid.uuid4().hex)  # not theirs
    with pytest.raises(UnknownDocumentError):
        replicas.api.run(b.page_image, doc["id"], 2, owner)
    # a synchronous upload's own bytes are not kept
    assert sorted(replicas.blob_names(doc["id"])) == ["page-0001.png", "searchable.pdf"]


def test_keep_uploads_setting_keeps_the_upload(replicas: Replicas) -> None:
    a = replicas.a
    a.settings = a.settings.model_copy(update={"ocr_keep_uploads": True})
    data = png_page(["Kept upload"])
    started = replicas.upload(data, "one.png", params={"async": "true"}, strategy="single")
    assert started.status_code == 202, started.text
    job = wait_for_job(replicas.get, started.json()["job_id"], timeout_s=60)
    assert job["status"] == "succeeded", job["error"]
    doc_id = started.json()["document_id"]
    assert replicas.blob_names(doc_id)["upload"] == len(data)
    assert replicas.api.run(replicas.a.blobs.get, doc_id, "upload") == data


def test_bad_async_input_is_a_4xx_and_queues_nothing(replicas: Replicas) -> None:
    for data, status, message in ((encrypted_pdf(), 422, "encrypted"),
                                  (b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20, 400,
                                   "cannot decode"),
                                  (tiny_tiff(5), 413, "limit is 4"),
                                  (b"not a document", 415, "unsupported")):
        response = replicas.upload(data, "bad", params={"async": "true"})
        assert response.status_code == status, response.text
        assert message in response.json()["detail"]
    response = replicas.upload(png_page(["x"]), "bad", params={"async": "true"}, psm=2)
    assert response.status_code == 422, response.text
    assert replicas.api.run(replicas.a.stores.eventbus.pending, OCR_QUEUE) == 0
    count = replicas.api.run(replicas.a.stores.database.fetchval,
                             "SELECT count(*) FROM ocr_blobs")
    assert count == 0
    assert replicas.get(f"{OCR}/documents").json() == []


