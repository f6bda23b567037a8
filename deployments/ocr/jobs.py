"""Async document jobs through the EventBus task queue (the mechanism of the analytics
reports), so that a job outlives the replica that accepted it.

Life of a job:

1. ``submit`` checks the upload (type, pages, limits: bad input is a 4xx before anything
   is stored), writes its bytes to the shared Database (blob ``upload`` of the document,
   :mod:`deployments.ocr.files`), creates the job row (``queued``) and the
   document row (``processing``), then enqueues a :class:`DocumentTask` on
   :data:`OCR_QUEUE` and answers 202. If the enqueue fails, the job and the document are
   failed with the reason, the blob is deleted and the error is raised.
2. Every OCR replica runs a worker loop that claims tasks (at most ``ocr_worker_jobs`` at
   a time) with a lease of ``ocr_job_lease_s``. While a job runs, a heartbeat renews the
   lease every third of it (``EventBus.extend``); if the renewal says another delivery
   took the task over, the job stops without writing anything more.
3. A worker that stops (``OcrService.stop``: the replica's graceful shutdown; see
   :mod:`deployments.ocr.worker`) claims nothing more and releases the tasks it runs
   (``EventBus.release``), without waiting for the page in progress: another worker
   claims them at once. A worker that dies (replica killed, node lost) never acks: its
   heartbeat stops, the lease runs out and the task is delivered to another worker.
   Either way the next worker reads the upload from the blob and resumes: the pages an
   earlier delivery finished are taken from their checkpoints
   (:mod:`deployments.ocr.checkpoints`), the others are OCRed; the interrupted delivery
   counts as an attempt, and progress events restart at page 0 on ``jobs.<job id>``.
4. Exactly once: the task names the document, and the document row says whether it is
   finished. A delivery of a task whose document already ``succeeded`` (the worker died
   between the row update and the ack) or ``failed`` only finishes the job and acks. The
   Warehouse pages are one insert (atomic) per document, made only if the document has
   no pages stored yet, so a worker that died after inserting them and before updating
   the row leaves one set of pages, not two. Page images and the PDF are blobs written
   by (document, name): writing them again replaces them. (Two workers running the same
   document at once, which the lease and heartbeat prevent, would at worst insert twice;
   reads use ``FINAL`` on the ``ReplacingMergeTree``, which shows one set.)
5. Errors: a typed OCR error (:mod:`actors.ocr.errors`: the document's fault, a limit, or
   Tesseract failing) fails the job and the document at once with its message. Any other
   error (a store unreachable, Tesseract still killed by a signal after ``recognize``
   started it again: ``EngineInterruptedError``, ...) leaves the task unacked so it is
   retried after the lease; on the ``ocr_job_max_attempts``-th delivery it fails the job
   with the error. A task delivered more than ``ocr_job_max_attempts`` times (its workers
   keep dying on it) fails with a message that says so.

Upload policy: the ``upload`` blob is kept while the job can still run (queued, running,
waiting for a redelivery) and deleted as soon as the job ends, succeeded or failed,
unless ``ocr_keep_uploads`` is set (e.g. to reprocess documents later). The document
row keeps the upload's size and content hash either way. Synchronous uploads are OCRed
within the request and their bytes are never stored (their document holds a lease
instead, see :mod:`deployments.ocr.service`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from actors.ocr.errors import OcrError

OCR_QUEUE = "ocr.documents"


@dataclass(frozen=True)
class DocumentTask:
    """One async document to OCR (the task payload)."""

    job_id: str
    document_id: str
    pages: int
    options: dict[str, Any] = field(default_factory=dict)
    """The request options as given (the replica adds its own limits)."""

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DocumentTask:
        return cls(str(payload["job_id"]), str(payload["document_id"]), int(payload["pages"]),
                   dict(payload.get("options") or {}))

    def payload(self) -> dict[str, Any]:
        return asdict(self)


def interrupted_message(attempts: int) -> str:
    return (f"OCR was interrupted {attempts - 1} times (the worker running it stopped "
            "each time); giving up")


UPLOAD_GONE = "the uploaded file is no longer stored; upload the document again"
REPLICA_STOPPED = "the replica processing this document stopped; upload it again"


def failure_message(exc: BaseException) -> str:
    """What a failed document or job records: a typed OCR error's message, else the
    error's type and message."""
    if isinstance(exc, OcrError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
