"""`OcrDocuments` leases (migration 0050) on every Database backend: a synchronous
upload's lease is renewed while it is processing; once it runs out the document is
failed by `fail_expired`, and only such documents are."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from storage.records.ocr import DocumentStatus, OcrDocuments

LEASED, RENEWED, ASYNC, DONE = "a" * 32, "b" * 32, "c" * 32, "d" * 32
STOPPED = "the replica processing this document stopped"


async def _create(docs: OcrDocuments, doc_id: str, **kwargs: Any) -> None:
    await docs.create(doc_id, "owner", "scan.png", "hash", 10, "png", 1, {}, **kwargs)


async def test_expired_sync_documents_are_failed(database: Any) -> None:
    docs = OcrDocuments(database)
    await _create(docs, LEASED, lease_s=0.2)
    await _create(docs, RENEWED, lease_s=0.2)
    await _create(docs, ASYNC, job_id="job")  # no lease: its job holds one on the queue
    await _create(docs, DONE, lease_s=0.2)
    await docs.succeed(DONE, 1, 90.0, {}, {}, False, False)
    record = await docs.get(LEASED)
    assert record is not None and record.lease_until is not None
    assert record.lease_until > time.time() and "lease_until" not in record.public()
    assert await docs.fail_expired(STOPPED) == []  # all leases still running

    await asyncio.sleep(0.3)
    assert await docs.renew(RENEWED, 30) is True
    assert await docs.fail_expired(STOPPED) == [LEASED]
    failed = await docs.get(LEASED)
    assert failed is not None and failed.status is DocumentStatus.FAILED
    assert failed.error == STOPPED and failed.lease_until is None
    assert await docs.renew(LEASED, 30) is False  # not processing any more
    assert await docs.renew(DONE, 30) is False
    for doc_id in (RENEWED, ASYNC):
        kept = await docs.get(doc_id)
        assert kept is not None and kept.status is DocumentStatus.PROCESSING

    # a replica that was only late finishes its document after all: the result stands
    await docs.succeed(LEASED, 1, 90.0, {}, {}, False, False)
    late = await docs.get(LEASED)
    assert late is not None and late.status is DocumentStatus.SUCCEEDED and late.error is None
