"""`OcrService`: what the OCR routes ask for, as plain Python over the stores.

Tesseract is CPU-bound: every page runs on a bounded thread pool (``ocr_workers``
threads; Tesseract itself with ``OMP_THREAD_LIMIT=1``) so the event loop stays free and the
replica answers other requests while documents are processed. Documents with more than
``ocr_sync_max_pages`` pages (or ``force_async``) become a job: the upload is stored in
the shared Database and a task is queued on the EventBus; the worker loop of any OCR
replica (:meth:`OcrService.start_worker`) runs it, with progress in the job row and on
the job's EventBus channel. Jobs are the job system's (:mod:`storage.jobs`), so a job
survives the replica that accepted or ran it: see :mod:`deployments.ocr.jobs` for
delivery, exactly-once results, errors and when the upload is deleted.

A synchronous upload is OCRed within its request and its bytes are not stored, so a
replica that dies in the middle of one cannot hand it to another: its document row holds
a lease instead (``lease_until``, ``ocr_job_lease_s`` long, renewed every third of it
while the request runs), and the worker loop of every replica fails the documents whose
lease ran out with :data:`deployments.ocr.jobs.REPLICA_STOPPED`, so that they do not stay
``processing``. A request that is cancelled (the client went away) fails its document at once.

Page images and searchable PDFs are blobs in the shared Database
(:mod:`deployments.ocr.files`), so any replica serves any document.

Client errors are the typed errors of :mod:`actors.ocr.errors` (input) and
:class:`deployments.ocr.errors.UnknownDocumentError` (a ``LookupError``: not found, or not
the caller's); their HTTP statuses: :data:`deployments.ocr.errors.OCR_ERRORS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actors.ocr.batch import content_hash
from actors.ocr.errors import (
    InvalidOptionsError,
)
from actors.ocr.loading import PageImage
from actors.ocr.models import DocumentResult, PageResult
from actors.ocr.options import OcrOptions
from actors.ocr.pdf_output import PdfPart
from actors.ocr.processors.base import check_processors
from config.settings import Settings
from deployments.ocr import scaling
from deployments.ocr import warehouse as wh
from deployments.ocr.checkpoints import PageCheckpoints
from deployments.ocr.document import inspect, ocr_document
from deployments.ocr.errors import UnknownDocumentError
from deployments.ocr.files import PDF, UPLOAD, DocumentFiles, encode_png, page_name
from deployments.ocr.jobs import OCR_QUEUE, DocumentJobs, DocumentTask, failure_message
from storage.jobs import Chore, JobSystem
from storage.jobs.beating import beating
from storage.jobs.worker import STOP_TIMEOUT_S
from storage.records.jobs import Job, job_channel
from storage.records.ocr import (
    DOCUMENT_JOB,
    DocumentRecord,
    DocumentStatus,
    OcrBlobs,
    OcrDocuments,
)
from storage.stores import Stores

log = logging.getLogger("armillary.ocr")
CANCELLED = "the upload was cancelled before its OCR finished; upload it again"
REQUEST_OPTIONS = frozenset({"lang", "psm", "dpi", "text_layer", "strategy", "pdf", "hocr",
                             "processors"})


class OcrService:
    def __init__(self, settings: Settings, stores: Stores) -> None:
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self.settings = settings
        self.stores = stores
        self.documents = OcrDocuments(stores.database)
        self.blobs = OcrBlobs(stores.database)
        self.files = DocumentFiles(self.blobs, settings.data_dir / "ocr")
        self.pages_table = settings.ocr_document_pages_table
        self.consumer = f"ocr-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._pool = ThreadPoolExecutor(settings.ocr_workers, thread_name_prefix="ocr")
        self._tables_ready = False
        self.document_jobs = DocumentJobs(lambda: self.settings, self.documents, self.blobs,
                                          self.files, self._process, self.options)
        self.job_system = JobSystem(
            stores.database, stores.eventbus, [self.document_jobs.kind()],
            consumer=self.consumer, poll_s=lambda: self.settings.ocr_worker_poll_s,
            reap_s=lambda: self.settings.job_reap_s,
            user_limit=lambda: self.settings.job_user_max_active,
            chores=[Chore("ocr-sync-documents", lambda: self.settings.ocr_job_lease_s / 3,
                          self.document_jobs.fail_abandoned)])
        self.jobs = self.job_system.jobs
        self.progress = self.job_system.progress
        self.worker = self.job_system.worker

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    async def _ensure_tables(self) -> None:
        if not self._tables_ready:
            await wh.ensure_document_pages(self.stores.warehouse, self.pages_table)
            self._tables_ready = True

    def options(self, requested: dict[str, Any]) -> OcrOptions:
        """Request options (language, psm, dpi, text layer mode, ...) plus the limits of
        the settings; bad values raise ``InvalidOptionsError``."""
        unknown = set(requested) - REQUEST_OPTIONS
        if unknown:
            raise InvalidOptionsError(f"unknown options: {sorted(unknown)}")
        options = OcrOptions.from_dict({
            **requested, "max_bytes": self.settings.max_body_bytes,
            "max_pages": self.settings.ocr_max_pages,
            "page_timeout_s": self.settings.ocr_page_timeout_s,
        })
        check_processors(options.processors)
        return options

    # -- submitting ------------------------------------------------------------------

    async def submit(self, owner: str, filename: str, data: bytes, requested: dict[str, Any],
                     force_async: bool = False) -> dict[str, Any]:
        """Check the document (type, pages, limits, text layer) and OCR it: the stored
        result (with ``"async": False``), or, for large documents and ``force_async``,
        ``{"async": True, "job_id", "document_id", ...}`` once the upload is stored and
        its job queued (any OCR replica runs it)."""
        options = self.options(requested)
        info = await self._run(inspect, data, options)
        await self._ensure_tables()
        doc_id = uuid.uuid4().hex
        stored_options = {k: v for k, v in requested.items() if v is not None}
        if force_async or info["pages"] > self.settings.ocr_sync_max_pages:
            return await self._queue(owner, filename, data, doc_id, info, stored_options)
        await self.documents.create(doc_id, owner, filename, content_hash(data), len(data),
                                    info["doc_type"], info["pages"], stored_options,
                                    lease_s=self.settings.ocr_job_lease_s)
        try:
            async with self._leased(doc_id):
                await self._process(doc_id, data, options)
        except Exception as exc:
            await self.documents.fail(doc_id, failure_message(exc))
            raise
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.documents.fail(doc_id, CANCELLED)
            raise
        return {"async": False, **await self.document(doc_id, None)}

    @contextlib.asynccontextmanager
    async def _leased(self, doc_id: str) -> AsyncIterator[None]:
        """Renew the lease of a synchronous document every third of it while the body
        runs: it is failed as abandoned (`_reap`) only once this replica stops."""
        lease = self.settings.ocr_job_lease_s

        async with beating(lambda: self.documents.renew(doc_id, lease), lease / 3,
                           f"lease of document {doc_id}"):
            yield

    async def _queue(self, owner: str, filename: str, data: bytes, doc_id: str,
                     info: dict[str, Any], stored_options: dict[str, Any]) -> dict[str, Any]:
        """Create the job (within the job limits), store the upload, create the document
        row, queue the job. If any step after the job's creation fails, what was made is
        failed or deleted."""
        work = DocumentTask(doc_id, info["pages"], stored_options)
        job = await self.job_system.create(DOCUMENT_JOB, owner, {
            "document_id": doc_id, "filename": filename, "bytes": len(data),
            "pages": info["pages"], "options": stored_options}, work.payload())
        try:
            await self.files.save(doc_id, UPLOAD, data)
            await self.documents.create(doc_id, owner, filename, content_hash(data),
                                        len(data), info["doc_type"], info["pages"],
                                        stored_options, job.id)
            await self.job_system.enqueue(job)
        except Exception as exc:
            await self._not_queued(job, doc_id, exc)
            raise
        return {"async": True, "job_id": job.id, "document_id": doc_id,
                "status": job.status.value, "pages": info["pages"],
                "status_url": f"/api/v1/jobs/{job.id}", "events_channel": job_channel(job.id),
                "document_url": f"/api/v1/ocr/documents/{doc_id}"}

    async def _not_queued(self, job: Job, doc_id: str, exc: Exception) -> None:
        error = f"the job could not be queued: {failure_message(exc)}"
        with contextlib.suppress(Exception):
            await self.documents.fail(doc_id, error)
        with contextlib.suppress(Exception):
            await self.progress.finish(job.id, error=error)
        with contextlib.suppress(Exception):
            await self.document_jobs.end_document(doc_id, error)

    async def _process(self, doc_id: str, data: bytes, options: OcrOptions,
                       job_id: str | None = None, total: int | None = None) -> DocumentResult:
        keep = self.settings.ocr_keep_page_images
        done = 0
        # A job's finished pages are kept until it ends: a later delivery resumes them.
        checkpoints = PageCheckpoints(self.files, doc_id) if job_id is not None else None

        async def on_page(page: PageImage, result: PageResult, part: PdfPart | None,
                          resumed: bool) -> None:
            nonlocal done
            done += 1
            if not resumed:  # a resumed page's image was stored before its checkpoint
                if keep and page.has_image:  # decoded (if not yet) on the pool, too
                    png = await self._run(_page_png, page)
                    await self.files.save(doc_id, page_name(page.index + 1), png)
                if checkpoints is not None:
                    await checkpoints.save(page.index + 1, result, part)
            if job_id is not None:
                await self.progress.step(job_id, "ocr", done, total)

        async def resume(page: PageImage) -> tuple[PageResult, PdfPart | None] | None:
            assert checkpoints is not None
            return await checkpoints.load(page.index + 1, data)

        result = await ocr_document(data, options, self._run, on_page,
                                    resume if checkpoints is not None else None)
        if result.pdf is not None:
            await self.files.save(doc_id, PDF, result.pdf)
        pages = [p.to_dict() for p in result.pages]
        # One insert per document, skipped when an earlier delivery of its job already
        # made it (a worker that died before updating the row): one set of pages.
        stored = 0
        if job_id is not None:
            stored = await wh.document_page_count(self.stores.warehouse, self.pages_table,
                                                  doc_id)
        if stored:
            log.info("document %s: %d pages already stored, not inserted again", doc_id,
                     stored)
        else:
            await wh.insert_document_pages(self.stores.warehouse, self.pages_table, doc_id,
                                           pages)
        images = keep and any(p.source == "ocr" for p in result.pages)
        await self.documents.succeed(doc_id, len(pages), round(result.mean_confidence, 2),
                                     result.fields, result.timings, result.pdf is not None,
                                     images)
        return result

    # -- the job worker (storage.jobs.worker) ----------------------------------------

    def start_worker(self) -> bool:
        """Start the worker loop that runs queued document jobs on the running event loop
        (idempotent); returns whether it runs (never again after `stop`)."""
        return self.worker.start()

    async def work_once(self, consumer: str | None = None) -> bool:
        """Claim one queued document task and run it to its end here (tests, tools);
        False when the queue had none ready."""
        return await self.worker.work_once(consumer=consumer)

    async def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop this replica's job work within about ``timeout_s`` (tests, replica
        shutdown; idempotent): the jobs running here are handed back to the queue
        (`JobWorker.stop`), then the thread pool is shut down without waiting: a
        Tesseract call cannot be interrupted, so a page being recognised finishes on its
        thread and its result is dropped; nothing is written after the cancel. A
        redelivered job resumes after the pages finished here (their checkpoints)."""
        await self.worker.stop(timeout_s)
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def autoscaling_stats(self) -> dict[str, float]:
        """The job load this replica reports to Serve's autoscaler
        (:mod:`deployments.ocr.scaling`)."""
        return {scaling.JOBS: float(await self.stores.eventbus.pending(OCR_QUEUE)),
                scaling.JOB_SLOTS: float(self.settings.ocr_worker_jobs)}

    # -- reading ---------------------------------------------------------------------

    async def _record(self, doc_id: str, viewer: str | None) -> DocumentRecord:
        record = await self.documents.get(doc_id)
        if record is None or (viewer is not None and record.owner != viewer):
            raise UnknownDocumentError(f"no document {doc_id!r}")
        return record

    async def document(self, doc_id: str, viewer: str | None) -> dict[str, Any]:
        """The stored result: the document row plus text and pages (words with boxes).
        ``viewer``: the caller's id (only their own documents), None for admins."""
        record = await self._record(doc_id, viewer)
        pages: list[dict[str, Any]] = []
        if record.status is DocumentStatus.SUCCEEDED:
            await self._ensure_tables()
            pages = await wh.document_pages(self.stores.warehouse, self.pages_table, doc_id)
        return {**record.public(), "text": "\n\f\n".join(p["text"] for p in pages),
                "page_results": pages}

    async def list_documents(self, viewer: str | None, limit: int = 50) -> list[dict[str, Any]]:
        return [r.public() for r in await self.documents.list(viewer, limit)]

    async def page_image(self, doc_id: str, page: int, viewer: str | None) -> bytes:
        record = await self._record(doc_id, viewer)
        data = None
        if record.page_images and 1 <= page <= record.pages:
            data = await self.files.read(doc_id, page_name(page))
        if data is None:
            raise UnknownDocumentError(f"document {doc_id!r} has no image of page {page}")
        return data

    async def searchable_pdf(self, doc_id: str, viewer: str | None) -> bytes:
        record = await self._record(doc_id, viewer)
        data = await self.files.read(doc_id, PDF) if record.has_pdf else None
        if data is None:
            raise UnknownDocumentError(
                f"document {doc_id!r} has no searchable PDF (upload it with pdf=true)")
        return data


def _page_png(page: PageImage) -> bytes:
    assert page.image is not None
    return encode_png(page.image, page.dpi)
