"""Leases of OCR work, on two replicas (:mod:`tests.deployments.ocr_replicas`):

- A live worker keeps its job past the lease; one that lost it stops.
- A job that cannot be queued is failed and its upload deleted.
- A stops in the middle of a long page: stop returns at once and hands the task back, and
  B takes it without waiting for A's lease.
- A synchronous upload whose replica dies is failed by B's worker loop once its lease ran
  out, with a message that says so; one on a live replica is not, however long it runs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from deployments.ocr.document import recognise_page
from deployments.ocr.jobs import OCR_QUEUE, REPLICA_STOPPED
from storage.errors import StoreUnavailableError
from tests.deployments.analytics_support import wait_for_job
from tests.deployments.ocr_replicas import (
    LEASE_S,
    OCR,
    Replicas,
    stall_at,
)
from tests.deployments.ocr_support import png_page, two_page_tiff


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

    async def spy(kind: Any, task: Any) -> None:
        taken_by_b.append(task)

    monkeypatch.setattr(b.worker, "_run_task", spy)
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
    stall_at(replicas.a, 0, monkeypatch)
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
