"""The OCR routes on the real ingress app with the real `OcrService` in process (embedded
stores, real Tesseract): results stored and retrievable by id, page images, ownership,
bad inputs as 4xx, and an async job with progress reaching ``succeeded``."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from actors.ocr import OcrOptions, process_document
from config.settings import Settings
from deployments.ingress.roles import Role
from deployments.ocr.service import OcrService
from tests.deployments.analytics_support import wait_for_job
from tests.deployments.conftest import Api, make_stores
from tests.deployments.ocr_support import encrypted_pdf, png_page, tiny_tiff, two_page_tiff
from tests.ocr.helpers import text_pdf
from tests.support import shared_data

OCR = "/api/v1/ocr"


class Setup:
    def __init__(self, api: Api, service: OcrService) -> None:
        self.api = api
        self.service = service
        self.analyst = api.bearer("analyst")

    def upload(self, data: bytes, name: str = "doc", headers: dict[str, str] | None = None,
               params: dict[str, Any] | None = None, **form: Any) -> Any:
        return self.api.client.post(f"{OCR}/documents", files={"file": (name, data)},
                                    data={k: str(v) for k, v in form.items()},
                                    params=params, headers=headers or self.analyst)

    def get(self, path: str, user: str = "analyst") -> Any:
        return self.api.client.get(path, headers=self.api.bearer(user))


@pytest.fixture
def setup(make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any) -> Iterator[Setup]:
    overrides = {"ocr_document_pages_table": f"ocr_doc_{uuid.uuid4().hex[:8]}",
                 "ocr_sync_max_pages": 1, "ocr_max_pages": 4}
    stores = make_stores(tmp_path, chdb_warehouse)
    service = OcrService(Settings(environment="test", data_dir=tmp_path, **overrides), stores)
    api = make_api(stores=stores, services={"ocr": service}, **overrides)
    for name, role in (("analyst", Role.ANALYST), ("analyst2", Role.ANALYST),
                       ("viewer", Role.VIEWER), ("boss", Role.ADMIN)):
        api.make_user(name, role)
    yield Setup(api, service)
    api.run(service.stop)


def test_upload_returns_text_words_fields_and_is_stored(setup: Setup) -> None:
    data = shared_data("ocr", "tesseract_test", "phototest.tif").read_bytes()
    response = setup.upload(data, "phototest.tif", lang="eng", psm=3)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["status"] == "succeeded" and doc["doc_type"] == "tiff" and doc["pages"] == 1
    assert "quick brown dog" in doc["text"] and "lazy fox" in doc["text"]
    page = doc["page_results"][0]
    words = page["words"]
    assert len(words) > 40 and all(w["width"] > 0 and w["height"] > 0 for w in words)
    assert all(0 <= w["left"] < page["width"] and 0 <= w["top"] < page["height"] for w in words)
    assert 0 < page["mean_confidence"] <= 100 and doc["mean_confidence"] > 80
    assert doc["fields"]["text"]["word_count"] > 40 and doc["timings"]["total"] > 0
    # the page-by-page path gives what process_document gives
    assert doc["text"] == process_document(data, OcrOptions()).text

    # stored: by id (owner, admin), not for another analyst, not for viewers
    stored = setup.get(doc["url"])
    assert stored.status_code == 200, stored.text
    assert stored.json()["text"] == doc["text"]
    assert stored.json()["page_results"][0]["words"] == words
    assert setup.get(doc["url"], "boss").status_code == 200
    assert setup.get(doc["url"], "analyst2").status_code == 404
    assert setup.get(doc["url"], "viewer").status_code == 403
    assert [d["id"] for d in setup.get(f"{OCR}/documents").json()] == [doc["id"]]
    assert setup.get(f"{OCR}/documents", "analyst2").json() == []

    image = setup.get(doc["page_image_urls"][0])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (page["width"], page["height"])
    assert setup.get(f"{doc['url']}/pages/2.png").status_code == 404
    assert setup.get(f"{doc['url']}/pages/1.png", "analyst2").status_code == 404
    no_pdf = setup.get(f"{doc['url']}/searchable.pdf")
    assert no_pdf.status_code == 404 and "pdf=true" in no_pdf.json()["detail"]


BAD_INPUTS = [
    ("empty", b"", {}, 400, "empty"),
    ("text", b"just some words, not an image", {}, 415, "unsupported document type"),
    ("corrupt png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20, {}, 400, "cannot decode"),
    ("encrypted pdf", None, {}, 422, "encrypted"),
    ("pdf with text", None, {}, 422, "text_layer"),
    ("too many pages", None, {}, 413, "limit is 4"),
    ("psm 2", None, {"psm": 2}, 422, "psm"),
    ("unknown language", None, {"lang": "xx_nope"}, 422, "not installed"),
    ("bad mode", None, {"text_layer": "maybe"}, 422, "text_layer"),
]


def _bad_data(name: str) -> bytes:
    return {"encrypted pdf": encrypted_pdf, "pdf with text": lambda: text_pdf(["Hello there"]),
            "too many pages": lambda: tiny_tiff(5)}.get(name, lambda: png_page(["hi"]))()


def test_bad_input_is_a_4xx_with_its_reason(setup: Setup) -> None:
    for name, data, form, status, message in BAD_INPUTS:
        response = setup.upload(_bad_data(name) if data is None else data, name, **form)
        assert response.status_code == status, (name, response.text)
        detail = response.json()["detail"]
        assert message in (detail if isinstance(detail, str) else " ".join(detail)), detail
    broken = bytearray(two_page_tiff())  # a TIFF header, zeros after: PIL's TypeError
    broken[len(broken) // 2:] = b"\x00" * (len(broken) - len(broken) // 2)
    response = setup.upload(bytes(broken), "zeroed.tif", strategy="single")
    assert response.status_code == 400, response.text
    assert "cannot decode" in response.json()["detail"]

    assert setup.get(f"{OCR}/documents/{uuid.uuid4().hex}").status_code == 404
    assert setup.get(f"{OCR}/documents/not-an-id").status_code == 422
    assert setup.get(f"{OCR}/documents/{uuid.uuid4().hex}/searchable.pdf").status_code == 404
    # the same PDF with a mode: its text layer is kept, nothing is rendered
    response = setup.upload(text_pdf(["Existing text layer here"]), "born.pdf",
                            text_layer="skip")
    assert response.status_code == 200, response.text
    page = response.json()["page_results"][0]
    assert page["source"] == "text_layer" and "Existing text layer" in page["text"]
    assert response.json()["page_image_urls"] == []




def test_large_document_is_a_job_with_progress(setup: Setup) -> None:
    response = setup.upload(two_page_tiff(), "scan.tif", strategy="single", pdf="true")
    assert response.status_code == 202, response.text
    started = response.json()
    job = wait_for_job(setup.get, started["job_id"], timeout_s=120)
    assert job["status"] == "succeeded", job["error"]
    assert job["done"] == job["total"] == 2 and job["kind"] == "ocr.document"
    assert job["result"]["document_id"] == started["document_id"]

    bus = setup.api.ctx.stores.eventbus
    events, _ = setup.api.run(bus.read_after, started["events_channel"], 0, 1.0)
    steps = [(e["status"], e.get("done")) for e in events]
    assert ("running", 1) in steps and ("running", 2) in steps
    assert steps[-1][0] == "succeeded" and steps.index(("running", 1)) < len(steps) - 1

    doc = setup.get(started["document_url"]).json()
    assert doc["status"] == "succeeded" and doc["job_id"] == started["job_id"]
    assert [p["page"] for p in doc["page_results"]] == [1, 2]
    assert "Invoice number 1" in doc["page_results"][0]["text"]
    assert "Invoice number 2" in doc["page_results"][1]["text"]
    pdf = setup.get(doc["pdf_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == 2 and "Invoice" in reader.pages[1].extract_text()


def test_async_query_flag_and_a_failing_job(setup: Setup) -> None:
    """``?async=true`` makes even one page a job; a page that cannot be decoded inside the
    job (the second page of a cut TIFF) fails the job and the document with the reason."""
    ok = setup.upload(png_page(["Asynchronous single page"]), "one.png",
                      params={"async": "true"}, strategy="single")
    assert ok.status_code == 202, ok.text
    cut = setup.upload(two_page_tiff()[:-300], "cut.tif", strategy="single")
    assert cut.status_code == 202, cut.text
    job = wait_for_job(setup.get, ok.json()["job_id"], timeout_s=120)
    assert job["status"] == "succeeded", job["error"]
    assert "Asynchronous" in setup.get(ok.json()["document_url"]).json()["text"]
    job = wait_for_job(setup.get, cut.json()["job_id"], timeout_s=120)
    assert job["status"] == "failed" and job["error"]
    doc = setup.get(cut.json()["document_url"]).json()
    assert doc["status"] == "failed" and doc["error"] == job["error"]
    assert doc["page_results"] == []
    # the uploads were stored for their jobs and deleted when the jobs ended
    for started in (ok, cut):
        assert "upload" not in setup.api.run(setup.service.blobs.names,
                                             started.json()["document_id"])
