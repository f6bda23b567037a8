"""The OCR deployment inside the real Serve application: a real receipt uploaded through
the ingress, its fields and stored result; typed errors raised in the replica arrive as
clean 4xx (the Ray error subclasses the original type); an async job run by the
replica's worker loop from the EventBus queue."""

from __future__ import annotations

import httpx
import pytest

from tests.deployments.analytics_support import wait_for_job
from tests.deployments.ocr_support import png_page, tiny_tiff
from tests.support import shared_data

pytestmark = [pytest.mark.ray, pytest.mark.serve]
OCR = "/api/v1/ocr"


def test_receipt_through_serve(serve_url: str) -> None:
    receipt = shared_data("ocr", "sroie_receipts", "img", "000.jpg").read_bytes()
    with httpx.Client(base_url=serve_url, timeout=180) as http:
        login = http.post("/api/v1/auth/token",
                          data={"username": "admin", "password": "admin-dev-password"})
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

        response = http.post(f"{OCR}/documents", data={"strategy": "single"},
                             files={"file": ("receipt.jpg", receipt, "image/jpeg")})
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["doc_type"] == "jpeg" and doc["status"] == "succeeded"
        assert "TAMAN DAYA" in doc["text"].upper()
        receipt_fields = doc["fields"]["receipt"]
        assert receipt_fields["date"] == "2018-12-25", receipt_fields  # key_fields: 25/12/2018
        assert doc["page_results"][0]["words"]

        stored = http.get(doc["url"])
        assert stored.status_code == 200 and stored.json()["text"] == doc["text"]
        image = http.get(doc["page_image_urls"][0])
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")

        for data, status, message in ((b"plain text", 415, "unsupported document type"),
                                      (tiny_tiff(300), 413, "limit is 200")):
            bad = http.post(f"{OCR}/documents", files={"file": ("bad", data)})
            assert bad.status_code == status, bad.text
            assert message in bad.json()["detail"] and "Traceback" not in bad.json()["detail"]
        assert http.get(f"{OCR}/documents/{'0' * 32}").status_code == 404

        # an async job: queued on the bus, run by a replica's worker loop
        job = http.post(f"{OCR}/documents", params={"async": "true"},
                        data={"strategy": "single"}, files={"file": ("page.png", png_page(
                            ["Queued through Serve"]), "image/png")})
        assert job.status_code == 202, job.text
        finished = wait_for_job(lambda path: http.get(path), job.json()["job_id"], 120)
        assert finished["status"] == "succeeded", finished["error"]
        queued = http.get(job.json()["document_url"]).json()
        assert "Queued" in queued["text"]
        assert http.get(queued["page_image_urls"][0]).content.startswith(b"\x89PNG")
        assert http.get(f"{OCR}/batches").status_code == 200
