"""Async document jobs: the kind ``ocr.document`` of the job system (:mod:`storage.jobs`),
so that a job outlives the replica that accepted it.

Life of a job:

1. ``submit`` checks the upload (type, pages, limits: bad input is a 4xx before anything
   is stored), creates the job row within the job limits (429 over them), writes the
   upload's bytes to the shared Database (blob ``upload`` of the document,
   :mod:`deployments.ocr.files`), creates the document row (``processing``), then queues
   the job's task on :data:`OCR_QUEUE` and answers 202. If a step after the job row fails,
   the job and the document are failed with the reason, the blob is deleted and the error
   is raised.
2. Every OCR replica runs the job system's worker loop over this kind: at most
   ``ocr_worker_jobs`` jobs at a time, leases of ``ocr_job_lease_s`` renewed every third
   of it; a delivery that loses its lease stops without writing anything more.
3. A replica that stops (``OcrService.stop``) hands its tasks back at once, without
   waiting for the page in progress; one that dies has them delivered again after the
   lease. Either way the next worker reads the upload from the blob and resumes: the pages
   an earlier delivery finished are taken from their checkpoints
   (:mod:`deployments.ocr.checkpoints`), the others are OCRed; the interrupted delivery
   counts as an attempt, and progress events restart at page 0 on the job's channel.
4. Exactly once: the payload names the document, and the document row says whether it is
   finished. A delivery of a job whose document already ``succeeded`` (the worker died
   between the row update and the job's end) or ``failed`` only ends the job. The
   Warehouse pages are one insert (atomic) per document, made only if the document has
   no pages stored yet, so a worker that died after inserting them and before updating
   the row leaves one set of pages, not two. Page images and the PDF are blobs written
   by (document, name): writing them again replaces them. (Two workers running the same
   document at once, which the leases prevent, would at worst insert twice; reads use
   ``FINAL`` on the ``ReplacingMergeTree``, which shows one set.)
5. Errors: a typed OCR error (:mod:`actors.ocr.errors`: the document's fault, a limit, or
   Tesseract failing) fails the job and the document at once with its message. Any other
   error (a store unreachable, Tesseract still killed by a signal after ``recognize``
   started it again: ``EngineInterruptedError``, ...) is retried on the next delivery; on
   the ``ocr_job_max_attempts``-th it fails the job with the error. A job taken more than
   ``ocr_job_max_attempts`` times (its workers keep dying on it) fails with a message that
   says so.

Upload policy: the ``upload`` blob is kept while the job can still run (queued, running,
waiting for a redelivery) and deleted as soon as the job ends, succeeded or failed,
unless ``ocr_keep_uploads`` is set (e.g. to reprocess documents later). The document
row keeps the upload's size and content hash either way. Synchronous uploads are OCRed
within the request and their bytes are never stored (their document holds a lease
instead, see :mod:`deployments.ocr.service`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from actors.ocr.errors import EngineInterruptedError, OcrError, OcrInputError
from actors.ocr.models import DocumentResult
from actors.ocr.options import OcrOptions
from config.settings import Settings
from deployments.ocr.checkpoints import PageCheckpoints
from deployments.ocr.files import UPLOAD, DocumentFiles
from storage.jobs import JobFailed, JobKind, JobRun, KindPolicy
from storage.jobs.kinds import Result
from storage.records.jobs import Job
from storage.records.ocr import (
    DOCUMENT_JOB,
    DocumentRecord,
    DocumentStatus,
    OcrBlobs,
    OcrDocuments,
)

OCR_QUEUE = "ocr.documents"
log = logging.getLogger("armillary.ocr")

Process = Callable[[str, bytes, OcrOptions, str, int], Awaitable[DocumentResult]]
"""``await process(document_id, data, options, job_id, pages)``: OCR and store it."""


@dataclass(frozen=True)
class DocumentTask:
    """One async document to OCR (the job's payload)."""

    document_id: str
    pages: int
    options: dict[str, Any] = field(default_factory=dict)
    """The request options as given (the replica adds its own limits)."""

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DocumentTask:
        return cls(str(payload["document_id"]), int(payload["pages"]),
                   dict(payload.get("options") or {}))

    def payload(self) -> dict[str, Any]:
        return asdict(self)


UPLOAD_GONE = "the uploaded file is no longer stored; upload the document again"
REPLICA_STOPPED = "the replica processing this document stopped; upload it again"


def failure_message(exc: BaseException) -> str:
    """What a failed document or job records: a typed OCR error's message, else the
    error's type and message."""
    if isinstance(exc, OcrError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class DocumentJobs:
    """The handler of ``ocr.document`` jobs on one replica: ``settings`` gives the
    replica's current settings, ``process`` OCRs one document (the service's), ``options``
    turns a payload's request options into `OcrOptions`."""

    def __init__(self, settings: Callable[[], Settings], documents: OcrDocuments,
                 blobs: OcrBlobs, files: DocumentFiles, process: Process,
                 options: Callable[[dict[str, Any]], OcrOptions]) -> None:
        self.settings = settings
        self.documents = documents
        self.blobs = blobs
        self.files = files
        self.process = process
        self.options = options

    def kind(self) -> JobKind:
        def policy() -> KindPolicy:
            s = self.settings()
            return KindPolicy(lease_s=s.ocr_job_lease_s, max_attempts=s.ocr_job_max_attempts,
                              slots=s.ocr_worker_jobs)

        return JobKind(DOCUMENT_JOB, OCR_QUEUE, self.run, policy, label="OCR",
                       final=self.final, on_end=self.on_end)

    async def run(self, run: JobRun) -> dict[str, Any]:
        """One delivery: the document's state first (exactly once), then its OCR."""
        work = DocumentTask.from_payload(run.payload)
        record = await self.documents.get(work.document_id)
        if record is None:
            raise JobFailed("the document was deleted")
        if record.status is DocumentStatus.SUCCEEDED:  # done by an earlier delivery
            return _job_result(record)
        if record.status is DocumentStatus.FAILED:
            raise JobFailed(record.error or "OCR failed")
        data = await self.blobs.get(work.document_id, UPLOAD)
        if data is None:
            raise JobFailed(UPLOAD_GONE)
        options = self.options(work.options)
        await run.step("ocr", 0, work.pages)
        result = await self.process(work.document_id, data, options, run.id, work.pages)
        return {"document_id": work.document_id, "pages": len(result.pages),
                "mean_confidence": round(result.mean_confidence, 2),
                "document_url": f"/api/v1/ocr/documents/{work.document_id}"}

    @staticmethod
    def final(exc: BaseException) -> str | None:
        """A typed OCR error fails the job; Tesseract killed by a signal (after
        recognize's own retries) is no failure of the document: delivered again."""
        if isinstance(exc, OcrError) and not isinstance(exc, EngineInterruptedError):
            if not isinstance(exc, OcrInputError):
                log.error("OCR job failed: %s", exc, exc_info=exc)
            return failure_message(exc)
        return None

    async def on_end(self, job: Job, result: Result, error: str | None) -> None:
        """Before the job ends (or the reaper fails it): a failed job's document fails
        with it (unless final already); the checkpoints go, and the upload unless it is
        kept."""
        await self.end_document(str(job.params["document_id"]), error)

    async def end_document(self, doc_id: str, error: str | None) -> None:
        if error is not None:
            with contextlib.suppress(Exception):
                record = await self.documents.get(doc_id)
                if record is not None and record.status is DocumentStatus.PROCESSING:
                    await self.documents.fail(doc_id, error)
        await PageCheckpoints(self.files, doc_id).clear()
        if not self.settings().ocr_keep_uploads:
            await self.files.delete(doc_id, UPLOAD)

    async def fail_abandoned(self) -> None:
        """Fail the synchronous documents whose replica stopped (their lease ran out)."""
        for doc_id in await self.documents.fail_expired(REPLICA_STOPPED):
            log.warning("document %s: its replica stopped while OCRing it; failed", doc_id)


def _job_result(record: DocumentRecord) -> dict[str, Any]:
    return {"document_id": record.id, "pages": record.pages,
            "mean_confidence": record.mean_confidence,
            "document_url": f"/api/v1/ocr/documents/{record.id}"}
