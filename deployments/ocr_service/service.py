"""`OcrService`: what the OCR routes ask for, as plain Python over the stores.

Tesseract is CPU-bound: every page runs on a bounded thread pool (``ocr_workers``
threads; Tesseract itself with ``OMP_THREAD_LIMIT=1``) so the event loop stays free and the
replica answers other requests while documents are processed. Documents with more than
``ocr_sync_max_pages`` pages (or ``force_async``) become a job: the upload is stored in
the shared Database and a task is queued on the EventBus; the worker loop of any OCR
replica (:meth:`OcrService.start_worker`) runs it, with progress in the job row and on
the EventBus channel ``jobs.<job id>``. A job survives the replica that accepted or ran
it: see :mod:`deployments.ocr_service.jobs` for delivery, exactly-once results, errors
and when the upload is deleted.

A synchronous upload is OCRed within its request and its bytes are not stored, so a
replica that dies in the middle of one cannot hand it to another: its document row holds
a lease instead (``lease_until``, ``ocr_job_lease_s`` long, renewed every third of it
while the request runs), and the worker loop of every replica fails the documents whose
lease ran out with :data:`REPLICA_STOPPED`, so that they do not stay ``processing``. A
request that is cancelled (the client went away) fails its document at once.

Page images and searchable PDFs are blobs in the shared Database
(:mod:`deployments.ocr_service.files`), so any replica serves any document.

Client errors are the typed errors of :mod:`actors.ocr.errors` (input) and
:class:`UnknownDocumentError` (a ``LookupError``: not found, or not the caller's).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from actors.ocr.batch import content_hash
from actors.ocr.errors import (
    EngineInterruptedError,
    InvalidOptionsError,
    OcrError,
    OcrInputError,
)
from actors.ocr.loading import PageImage
from actors.ocr.models import DocumentResult, PageResult
from actors.ocr.options import OcrOptions
from actors.ocr.pdf_output import PdfPart
from config.settings import Settings
from deployments.analytics_service.progress import JobProgress
from deployments.ocr_service import scaling
from deployments.ocr_service import warehouse as wh
from deployments.ocr_service.checkpoints import PageCheckpoints
from deployments.ocr_service.document import inspect, ocr_document
from deployments.ocr_service.files import PDF, UPLOAD, DocumentFiles, encode_png, page_name
from deployments.ocr_service.jobs import (
    OCR_QUEUE,
    UPLOAD_GONE,
    DocumentTask,
    interrupted_message,
)
from storage.eventbus.base import Task
from storage.records.jobs import Jobs
from storage.records.ocr import (
    DOCUMENT_JOB,
    DocumentRecord,
    DocumentStatus,
    OcrBlobs,
    OcrDocuments,
)
from storage.stores import Stores

log = logging.getLogger("armillary.ocr")
REPLICA_STOPPED = "the replica processing this document stopped; upload it again"
CANCELLED = "the upload was cancelled before its OCR finished; upload it again"
STOP_TIMEOUT_S = 10.0
"""How long `OcrService.stop` waits, at most, for the jobs it cancels to unwind."""
REQUEST_OPTIONS = frozenset({"lang", "psm", "dpi", "text_layer", "strategy", "pdf", "hocr",
                             "processors"})


class UnknownDocumentError(LookupError):
    """No such document (or page, or file), or it belongs to someone else."""


class OcrService:
    def __init__(self, settings: Settings, stores: Stores) -> None:
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self.settings = settings
        self.stores = stores
        self.jobs = Jobs(stores.database)
        self.documents = OcrDocuments(stores.database)
        self.blobs = OcrBlobs(stores.database)
        self.progress = JobProgress(self.jobs, stores.eventbus)
        self.files = DocumentFiles(self.blobs, settings.data_dir / "ocr")
        self.pages_table = settings.ocr_document_pages_table
        self.consumer = f"ocr-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._pool = ThreadPoolExecutor(settings.ocr_workers, thread_name_prefix="ocr")
        self._active: set[asyncio.Task[None]] = set()
        self._held: dict[asyncio.Task[Any], _Delivery] = {}
        self._stopped = False
        self._worker_task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._tables_ready = False

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
        return OcrOptions.from_dict({
            **requested, "max_bytes": self.settings.max_body_bytes,
            "max_pages": self.settings.ocr_max_pages,
            "page_timeout_s": self.settings.ocr_page_timeout_s,
        })

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
            await self.documents.fail(doc_id, _message(exc))
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

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(lease / 3)
                try:
                    await self.documents.renew(doc_id, lease)
                except Exception:
                    log.exception("document %s: renewing the lease failed", doc_id)

        beat = asyncio.get_running_loop().create_task(heartbeat())
        try:
            yield
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _queue(self, owner: str, filename: str, data: bytes, doc_id: str,
                     info: dict[str, Any], stored_options: dict[str, Any]) -> dict[str, Any]:
        """Store the upload, create the job and document rows, enqueue the task. If any
        step after storing the upload fails, what was made is failed or deleted."""
        await self.files.save(doc_id, UPLOAD, data)
        task: DocumentTask | None = None
        try:
            job = await self.jobs.create(DOCUMENT_JOB, owner, {
                "document_id": doc_id, "filename": filename, "bytes": len(data),
                "pages": info["pages"], "options": stored_options})
            task = DocumentTask(job.id, doc_id, info["pages"], stored_options)
            await self.documents.create(doc_id, owner, filename, content_hash(data),
                                        len(data), info["doc_type"], info["pages"],
                                        stored_options, job.id)
            await self.stores.eventbus.enqueue(OCR_QUEUE, task.payload())
        except Exception as exc:
            with contextlib.suppress(Exception):
                if task is None:
                    await self.files.delete(doc_id, UPLOAD)
                else:
                    await self._end(task, error=f"the job could not be queued: {_message(exc)}")
            raise
        if self.start_worker() and self._wake is not None:
            self._wake.set()
        return {"async": True, "job_id": job.id, "document_id": doc_id,
                "status": job.status.value, "pages": info["pages"],
                "status_url": f"/api/v1/jobs/{job.id}", "events_channel": f"jobs.{job.id}",
                "document_url": f"/api/v1/ocr/documents/{doc_id}"}

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

    # -- the job worker --------------------------------------------------------------

    def start_worker(self) -> bool:
        """Start the worker loop that runs queued document jobs on the running event loop
        (idempotent); returns whether it runs (never again after `stop`)."""
        if self._stopped:
            return False
        if self._worker_task is None or self._worker_task.done():
            self._wake = asyncio.Event()
            self._worker_task = asyncio.get_running_loop().create_task(self._worker_loop())
        return not self._worker_task.done()

    async def _worker_loop(self) -> None:
        assert self._wake is not None
        wake = self._wake
        next_reap = 0.0
        while not self._stopped:
            wake.clear()
            if (now := time.monotonic()) >= next_reap:
                next_reap = now + self.settings.ocr_job_lease_s / 3
                await self._reap()
            try:
                while len(self._active) < self.settings.ocr_worker_jobs:
                    task = await self.stores.eventbus.claim(OCR_QUEUE, self.consumer,
                                                            self.settings.ocr_job_lease_s)
                    if task is None:
                        break
                    if self._stopped:  # claimed while `stop` began: not run here
                        await self.stores.eventbus.release(task)
                        return
                    job = asyncio.get_running_loop().create_task(self._run_task(task))
                    self._active.add(job)
                    job.add_done_callback(self._job_done)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("OCR worker iteration failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.settings.ocr_worker_poll_s)

    async def autoscaling_stats(self) -> dict[str, float]:
        """The job load this replica reports to Serve's autoscaler
        (:mod:`deployments.ocr_service.scaling`)."""
        return {scaling.JOBS: float(await self.stores.eventbus.pending(OCR_QUEUE)),
                scaling.JOB_SLOTS: float(self.settings.ocr_worker_jobs)}

    async def _reap(self) -> None:
        """Fail the synchronous documents whose replica stopped (their lease ran out)."""
        try:
            failed = await self.documents.fail_expired(REPLICA_STOPPED)
        except Exception:
            log.exception("failing abandoned documents failed")
            return
        for doc_id in failed:
            log.warning("document %s: its replica stopped while OCRing it; failed", doc_id)

    def _job_done(self, job: asyncio.Task[None]) -> None:
        self._active.discard(job)
        if self._wake is not None:
            self._wake.set()  # a free slot: claim the next task now

    async def work_once(self, consumer: str | None = None) -> bool:
        """Claim one queued document task and run it to its end here (tests, tools);
        False when the queue had none ready."""
        task = await self.stores.eventbus.claim(OCR_QUEUE, consumer or self.consumer,
                                                self.settings.ocr_job_lease_s)
        if task is None:
            return False
        await self._run_task(task)
        return True

    async def _run_task(self, task: Task) -> None:
        """Run one delivery under a heartbeat that renews its lease; stop when the lease
        is lost (another worker has the task now). While it runs, `stop` can hand it
        back (`_held`)."""
        me = asyncio.current_task()
        assert me is not None
        lost = False

        async def heartbeat() -> None:
            nonlocal lost
            lease = self.settings.ocr_job_lease_s
            while True:
                await asyncio.sleep(lease / 3)
                try:
                    held = await self.stores.eventbus.extend(task, lease)
                except Exception:
                    log.exception("OCR task %s: renewing the lease failed", task.id)
                    continue
                if not held:
                    lost = True
                    me.cancel()
                    return

        beat = asyncio.get_running_loop().create_task(heartbeat())
        self._held[me] = _Delivery(task, beat)
        try:
            await self._job(task, DocumentTask.from_payload(task.payload))
        except asyncio.CancelledError:
            if not lost:
                raise
            log.warning("OCR task %s: lease lost to another delivery, stopped", task.id)
        except Exception:
            # Not acked: the task comes back after the lease (stores unreachable, ...).
            log.exception("OCR task %s failed (attempt %d)", task.id, task.attempts)
        finally:
            self._held.pop(me, None)
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _job(self, task: Task, work: DocumentTask) -> None:
        """One delivery of a document task: see :mod:`deployments.ocr_service.jobs`."""
        record = await self.documents.get(work.document_id)
        if record is None:
            log.warning("OCR task %s: no document %s, dropped", task.id, work.document_id)
            await self._end(work, error="the document was deleted", record=None)
        elif record.status is DocumentStatus.SUCCEEDED:  # done by an earlier delivery
            await self._end(work, result=_job_result(record), record=record)
        elif record.status is DocumentStatus.FAILED:
            await self._end(work, error=record.error or "OCR failed", record=record)
        elif task.attempts > self.settings.ocr_job_max_attempts:
            await self._end(work, error=interrupted_message(task.attempts))
        elif (data := await self.blobs.get(work.document_id, UPLOAD)) is None:
            await self._end(work, error=UPLOAD_GONE)
        else:
            try:
                options = self.options(work.options)
                await self.progress.step(work.job_id, "ocr", 0, work.pages)
                result = await self._process(work.document_id, data, options, work.job_id,
                                             work.pages)
            except Exception as exc:
                if self._stopped:
                    # Cancelled by `stop` and failing in its cleanup (a pool that is shut
                    # down, ...): the task is handed back, nothing more is written here.
                    raise asyncio.CancelledError from exc
                # Tesseract killed by a signal (after recognize's own retries) is no
                # failure of the document: delivered again, like a store unreachable.
                if isinstance(exc, OcrError) and not isinstance(exc, EngineInterruptedError):
                    if not isinstance(exc, OcrInputError):
                        log.exception("OCR job %s failed", work.job_id)
                    await self._end(work, error=_message(exc))
                elif task.attempts < self.settings.ocr_job_max_attempts:
                    await self.progress.step(work.job_id, "retrying", 0, work.pages)
                    raise  # not acked: delivered again after the lease
                else:
                    log.exception("OCR job %s failed", work.job_id)
                    await self._end(work, error=f"OCR failed after {task.attempts} "
                                                f"attempts: {_message(exc)}")
            else:
                await self._end(work, result={
                    "document_id": work.document_id, "pages": len(result.pages),
                    "mean_confidence": round(result.mean_confidence, 2),
                    "document_url": f"/api/v1/ocr/documents/{work.document_id}"})
        await self.stores.eventbus.ack(task)

    async def _end(self, work: DocumentTask, result: dict[str, Any] | None = None,
                   error: str | None = None, record: DocumentRecord | None = None) -> None:
        """The job's final state: the document row (unless ``record`` shows it is final
        already), the job row and its last event; then the upload policy."""
        if error is not None and (record is None or record.status is
                                  DocumentStatus.PROCESSING):
            with contextlib.suppress(Exception):
                await self.documents.fail(work.document_id, error)
        await self.progress.finish(work.job_id, result, error)
        await PageCheckpoints(self.files, work.document_id).clear()
        if not self.settings.ocr_keep_uploads:
            await self.files.delete(work.document_id, UPLOAD)

    async def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop this replica's job work, within about ``timeout_s`` (tests, replica
        shutdown; idempotent, and the worker never starts again):

        1. the worker loop stops: no task is claimed any more;
        2. every job running here is cancelled, its heartbeat stopped, and its task
           released (``EventBus.release``): another worker claims it at once rather than
           after the lease, as a further attempt (:mod:`deployments.ocr_service.jobs`);
        3. the thread pool is shut down without waiting: a Tesseract call cannot be
           interrupted, so a page being recognised finishes on its thread and its result
           is dropped (nothing is written after the cancel).

        A redelivered job resumes after the pages finished here (their checkpoints); the
        page in progress is done again. A task that cannot be released in time (stores
        unreachable) comes back after its lease, as when a replica dies.
        """
        self._stopped = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if self._worker_task is not None:  # let a claim in flight end (and give it back)
            if self._wake is not None:
                self._wake.set()
            await asyncio.wait([self._worker_task], timeout=timeout_s / 2)
            self._worker_task.cancel()
        await asyncio.sleep(0)  # jobs the loop just started register their delivery
        held = list(self._held.items())
        jobs = [*self._active, *(job for job, _ in held)]
        for job in jobs:
            job.cancel()
        # Hand the tasks back now, not once each job has unwound (its cleanup can wait
        # for a pool thread that is busy with a long page).
        if held:
            await asyncio.wait([asyncio.create_task(self._hand_back(d)) for _, d in held],
                               timeout=max(0.01, deadline - loop.time()))
        if jobs:
            await asyncio.wait(jobs, timeout=max(0.01, deadline - loop.time()))
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _hand_back(self, delivery: _Delivery) -> None:
        delivery.beat.cancel()
        await asyncio.wait([delivery.beat])  # no renewal after the release
        task = delivery.task
        try:
            released = await self.stores.eventbus.release(task)
        except Exception:
            log.exception("OCR task %s: could not hand it back; redelivered after its "
                          "lease", task.id)
            return
        if released:
            log.info("OCR task %s handed back to the queue (attempt %d)", task.id,
                     task.attempts)

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


@dataclass(frozen=True)
class _Delivery:
    """A task this replica runs, and the heartbeat that renews its lease."""

    task: Task
    beat: asyncio.Task[None]


def _job_result(record: DocumentRecord) -> dict[str, Any]:
    return {"document_id": record.id, "pages": record.pages,
            "mean_confidence": record.mean_confidence,
            "document_url": f"/api/v1/ocr/documents/{record.id}"}


def _message(exc: BaseException) -> str:
    if isinstance(exc, OcrError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
