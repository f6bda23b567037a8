"""Durable OCR jobs and shared page images: two `OcrService` replicas ("A", which the
ingress app calls, and "B") on the same stores — real PostgreSQL + Redis, and the
embedded SQLite file + in-process bus — each with its own data folder.

- A takes a job and dies in the middle of the document (or after its pages were stored):
  B gets the task again and completes it, with one set of pages.
- A stops in the middle of a long page: stop returns at once and hands the task back, and
  B takes it without waiting for A's lease.
- A synchronous upload whose replica dies is failed by B's worker loop once its lease ran
  out, with a message that says so; one on a live replica is not, however long it runs.
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
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from pytesseract import pytesseract as _tess

from actors.ocr.recognize import ENGINE_RETRIES
from config.settings import Settings
from deployments.ingress.roles import Role
from deployments.ocr.document import recognise_page
from deployments.ocr.errors import UnknownDocumentError
from deployments.ocr.jobs import OCR_QUEUE, REPLICA_STOPPED
from deployments.ocr.service import OcrService
from storage.errors import StoreUnavailableError
from storage.registry import open_backend
from storage.stores import Stores
from tests.conftest import postgres_url, redis_url
from tests.deployments.analytics_support import wait_for_job
from tests.deployments.conftest import Api, make_stores
from tests.deployments.ocr_support import encrypted_pdf, png_page, tiny_tiff, two_page_tiff
from tests.ocr.helpers import KillingTesseract
from tests.support import missing

OCR = "/api/v1/ocr"
# Long enough that a heartbeat (every third of it) is never late on a loaded CI machine.
LEASE_S = 3.0


@dataclass
class Replicas:
    api: Api
    a: OcrService
    stores_b: Stores
    tmp: Path
    settings: dict[str, Any]
    analyst_id: str = ""
    started: list[OcrService] = field(default_factory=list)

    def b(self, **overrides: Any) -> OcrService:
        """Replica B: the same stores as A through connections of its own (one shared
        in-process bus for the embedded stores), and its own data folder."""
        settings = Settings(environment="test", data_dir=self.tmp / "b",
                            **{**self.settings, **overrides})
        service = OcrService(settings, self.stores_b)
        self.started.append(service)
        return service

    def upload(self, data: bytes, name: str = "doc", params: dict[str, Any] | None = None,
               **form: Any) -> Any:
        return self.api.client.post(f"{OCR}/documents", files={"file": (name, data)},
                                    data={k: str(v) for k, v in form.items()},
                                    params=params, headers=self.api.bearer("analyst"))

    def get(self, path: str) -> Any:
        return self.api.client.get(path, headers=self.api.bearer("analyst"))

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/api/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait(self, what: Callable[[], bool], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not what():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)

    def start(self, service: OcrService) -> None:
        async def start() -> None:
            assert service.start_worker()

        self.api.run(start)

    def page_rows(self, doc_id: str) -> tuple[int, float]:
        """Rows stored for the document (no deduplication) and the newest insert time."""
        async def rows() -> tuple[int, float]:
            result = await self.a.stores.warehouse.query(
                f"SELECT count(), max(created_at) FROM {self.a.pages_table}"
                " WHERE document_id = {id:String}", {"id": doc_id})
            return int(result.rows[0][0]), float(result.rows[0][1] or 0.0)

        return tuple(self.api.run(rows))  # type: ignore[return-value]

    def blob_names(self, doc_id: str) -> dict[str, int]:
        return dict(self.api.run(self.a.blobs.names, doc_id))


def _stall_at(service: OcrService, done: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's job hangs after reporting page `done` (until it is stopped)."""
    step = service.progress.step

    async def stalling(job_id: str, stage: str, n: int, total: int | None) -> None:
        await step(job_id, stage, n, total)
        if n == done:
            await asyncio.Event().wait()

    monkeypatch.setattr(service.progress, "step", stalling)


def _count_recognised(service: OcrService, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pages (1-based) the service recognises from now on, in order."""
    pages: list[int] = []
    run = service._run

    async def counting(fn: Any, *args: Any) -> Any:
        if fn is recognise_page:
            pages.append(args[1].index + 1)
        return await run(fn, *args)

    monkeypatch.setattr(service, "_run", counting)
    return pages


def _shared_stores(kind: str, tmp: Path, warehouse: Any) -> tuple[Stores, Stores]:
    if kind == "embedded":
        a = make_stores(tmp, warehouse)
        b = Stores(database=open_backend("database", f"sqlite:///{tmp}/db.sqlite"),
                   cache=a.cache, eventbus=a.eventbus, timeseries=a.timeseries,
                   warehouse=warehouse)
        return a, b
    sep = "&" if "?" in postgres_url() else "?"
    db_url = f"{postgres_url()}{sep}schema=ocr_{uuid.uuid4().hex[:10]}"
    redis = f"{redis_url()}?prefix=ocr_{uuid.uuid4().hex[:10]}:"

    def build() -> Stores:
        return Stores(
            database=open_backend("database", db_url), cache=open_backend("cache", redis),
            eventbus=open_backend("eventbus", redis),
            timeseries=open_backend("timeseries", f"warehouse://ts_{uuid.uuid4().hex[:10]}",
                                    warehouse=warehouse),
            warehouse=warehouse)

    return build(), build()


def _require_servers() -> None:
    async def reachable() -> None:
        db, bus = open_backend("database", postgres_url()), open_backend("eventbus", redis_url())
        try:
            await db.connect()
            await bus.ping()
        finally:
            await db.close()
            await bus.close()

    try:
        asyncio.run(reachable())
    except StoreUnavailableError as exc:
        missing(f"PostgreSQL/Redis not reachable: {exc}")


@pytest.fixture(params=["embedded", "postgres-redis"])
def replicas(request: pytest.FixtureRequest, make_api: Callable[..., Api], tmp_path: Path,
             chdb_warehouse: Any) -> Iterator[Replicas]:
    if request.param != "embedded":
        _require_servers()
    stores_a, stores_b = _shared_stores(request.param, tmp_path, chdb_warehouse)
    settings = {"ocr_document_pages_table": f"ocr_doc_{uuid.uuid4().hex[:8]}",
                "ocr_sync_max_pages": 1, "ocr_max_pages": 4, "ocr_job_lease_s": LEASE_S,
                "ocr_worker_poll_s": 0.1}
    a = OcrService(Settings(environment="test", data_dir=tmp_path / "a", **settings), stores_a)
    api = make_api(stores=stores_a, services={"ocr": a}, **settings)
    replicas = Replicas(api, a, stores_b, tmp_path, settings)
    replicas.analyst_id = api.make_user("analyst", Role.ANALYST)
    yield replicas
    for service in (a, *replicas.started):
        api.run(service.stop)
    api.run(stores_b.database.close)
    if request.param != "embedded":
        api.run(stores_b.eventbus.close)
        api.run(stores_b.cache.close)
        api.run(stores_a.database.drop_schema)  # type: ignore[attr-defined]
    for name in ("a", "b"):  # nothing on the replicas' disks
        assert not (tmp_path / name / "ocr").exists()


def test_job_survives_its_worker_dying_mid_document(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stall_at(replicas.a, 1, monkeypatch)  # A dies after page 1 of 2
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
    recognised = _count_recognised(b, monkeypatch)
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
                                     f"jobs.{job_id}", 0, 1.0)
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
    _stall_at(replicas.a, 0, monkeypatch)
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


def test_live_worker_keeps_its_job_past_the_lease(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that runs for several leases on a live replica (its heartbeat renews the
    lease) is not delivered to the other replica meanwhile."""
    step = replicas.a.progress.step

    async def slow(job_id: str, stage: str, n: int, total: int | None) -> None:
        await step(job_id, stage, n, total)
        if n == 0:
            await asyncio.sleep(3 * LEASE_S)

    monkeypatch.setattr(replicas.a.progress, "step", slow)
    b = replicas.b()
    taken_by_b: list[Any] = []

    async def spy(task: Any, work: Any) -> None:
        taken_by_b.append(task)

    monkeypatch.setattr(b.worker, "_job", spy)
    started = replicas.upload(png_page(["Long running"]), "one.png", params={"async": "true"},
                              strategy="single")
    assert started.status_code == 202, started.text
    replicas.wait(lambda: replicas.job(started.json()["job_id"])["status"] == "running")
    replicas.start(b)
    job = wait_for_job(replicas.get, started.json()["job_id"], timeout_s=60)
    assert job["status"] == "succeeded", job["error"]
    assert taken_by_b == []


def test_worker_that_lost_its_lease_stops(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When renewing the lease says another delivery took the task (A was cut off for
    longer than the lease), A stops the job without finishing or acking it; the
    redelivery completes it."""
    _stall_at(replicas.a, 0, monkeypatch)
    bus = replicas.a.stores.eventbus
    extend = bus.extend

    async def first_delivery_lost(task: Any, lease_s: float) -> bool:
        return False if task.attempts == 1 else await extend(task, lease_s)

    monkeypatch.setattr(bus, "extend", first_delivery_lost)
    started = replicas.upload(png_page(["Lease lost"]), "one.png", params={"async": "true"},
                              strategy="single")
    assert started.status_code == 202, started.text
    job_id, doc_id = started.json()["job_id"], started.json()["document_id"]
    replicas.wait(lambda: replicas.job(job_id)["status"] == "running")
    replicas.wait(lambda: not replicas.a.worker.active, timeout_s=10)  # A gave the job up
    assert replicas.job(job_id)["status"] == "running"
    assert replicas.api.run(bus.pending, OCR_QUEUE) == 1  # not acked
    replicas.api.run(replicas.a.stop)  # (A would stall on the redelivery too)

    replicas.start(replicas.b())
    job = wait_for_job(replicas.get, job_id, timeout_s=60)
    assert job["status"] == "succeeded", job["error"]
    assert replicas.page_rows(doc_id)[0] == 1


def test_job_that_cannot_be_queued_is_failed_and_its_upload_deleted(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def bus_down(*_: Any) -> str:
        raise StoreUnavailableError("EventBus unreachable (test)")

    monkeypatch.setattr(replicas.a.stores.eventbus, "enqueue", bus_down)
    response = replicas.upload(png_page(["Not queued"]), "one.png", params={"async": "true"})
    assert response.status_code == 503, response.text
    [doc] = replicas.get(f"{OCR}/documents").json()
    assert doc["status"] == "failed" and "could not be queued" in doc["error"]
    assert replicas.job(doc["job_id"])["status"] == "failed"
    assert replicas.blob_names(doc["id"]) == {}


def test_stopping_replica_hands_its_job_back_at_once(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stops (replica shutdown) while Tesseract is on a long page: stop returns without
    waiting for the page, the task goes back to the queue, and B completes the job long
    before A's lease (60 s) would have run out."""
    a = replicas.a
    a.settings = a.settings.model_copy(update={"ocr_job_lease_s": 60.0})
    on_page, page_may_end = threading.Event(), threading.Event()
    run = a._run

    async def long_page(fn: Any, *args: Any) -> Any:
        if fn is not recognise_page:
            return await run(fn, *args)

        def stuck(*call: Any) -> Any:
            on_page.set()
            page_may_end.wait(30)
            return fn(*call)

        return await run(stuck, *args)

    monkeypatch.setattr(a, "_run", long_page)
    try:
        started = replicas.upload(two_page_tiff(), "scan.tif", strategy="single")
        assert started.status_code == 202, started.text
        job_id, doc_id = started.json()["job_id"], started.json()["document_id"]
        assert on_page.wait(60)
        begun = time.monotonic()
        replicas.api.run(a.stop)
        assert time.monotonic() - begun < 5  # not held by the page in progress
        assert not a.start_worker()  # a stopped replica takes no more work

        replicas.start(replicas.b())
        job = wait_for_job(replicas.get, job_id, timeout_s=40)
        assert job["status"] == "succeeded", job["error"]
        assert job["done"] == job["total"] == 2
        assert replicas.api.run(a.stores.eventbus.pending, OCR_QUEUE) == 0
        assert replicas.page_rows(doc_id)[0] == 2
    finally:
        page_may_end.set()


def test_sync_upload_whose_replica_died_is_failed_by_another(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A freezes in the middle of a synchronous upload (its OCR and the renewal of the
    document's lease stop, as when the replica dies): B's worker loop fails the document
    after the lease, with a message that says what happened, instead of leaving it
    ``processing`` for ever."""
    a = replicas.a
    run = a._run

    async def frozen(fn: Any, *args: Any) -> Any:
        if fn is recognise_page:
            await asyncio.Event().wait()
        return await run(fn, *args)

    async def no_renewal(*_: Any) -> bool:
        await asyncio.Event().wait()
        return False

    monkeypatch.setattr(a, "_run", frozen)
    monkeypatch.setattr(a.documents, "renew", no_renewal)
    portal = replicas.api.client.portal
    assert portal is not None
    request = portal.start_task_soon(a.submit, replicas.analyst_id, "one.png",
                                     png_page(["Never finished"]), {"strategy": "single"})
    try:
        replicas.wait(lambda: [d["status"] for d in replicas.get(f"{OCR}/documents").json()]
                      == ["processing"], timeout_s=30)
        [doc] = replicas.get(f"{OCR}/documents").json()
        replicas.start(replicas.b())
        replicas.wait(lambda: replicas.get(doc["url"]).json()["status"] != "processing",
                      timeout_s=10 * LEASE_S)
        failed = replicas.get(doc["url"]).json()
        assert failed["status"] == "failed" and failed["error"] == REPLICA_STOPPED
        assert failed["updated_at"] >= doc["created_at"] + LEASE_S  # once the lease ran out
        assert not request.done()  # A never finished it
    finally:
        request.cancel()


def test_sync_upload_on_a_live_replica_keeps_its_lease(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A synchronous upload that takes several leases on a live replica (it renews the
    lease) is not failed by B's worker loop meanwhile."""
    a = replicas.a
    run = a._run

    async def slow(fn: Any, *args: Any) -> Any:
        if fn is recognise_page:
            await asyncio.sleep(2.5 * LEASE_S)
        return await run(fn, *args)

    monkeypatch.setattr(a, "_run", slow)
    replicas.start(replicas.b())
    portal = replicas.api.client.portal
    assert portal is not None
    request = portal.start_task_soon(a.submit, replicas.analyst_id, "one.png",
                                     png_page(["Slow but alive"]), {"strategy": "single"})
    seen: set[str] = set()
    while not request.done():
        seen.update(d["status"] for d in replicas.get(f"{OCR}/documents").json())
        time.sleep(0.1)
    result = request.result()
    assert result["status"] == "succeeded" and result["error"] is None
    assert "processing" in seen and "failed" not in seen
