"""`OcrService`: what the OCR routes ask for, as plain Python over the stores.

Tesseract is CPU-bound: every page runs on a bounded thread pool (``ocr_workers``
threads; Tesseract itself with ``OMP_THREAD_LIMIT=1``) so the event loop stays free and the
replica answers other requests while documents are processed. Documents with more than
``ocr_sync_max_pages`` pages (or ``force_async``) become a job: the call returns at once
and the pages are processed in the background, with progress in the job row and on the
EventBus channel ``jobs.<job id>``.

Client errors are the typed errors of :mod:`actors.ocr.errors` (input) and
:class:`UnknownDocumentError` (a ``LookupError``: not found, or not the caller's).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actors.ocr.batch import content_hash
from actors.ocr.errors import InvalidOptionsError, OcrError, OcrInputError
from actors.ocr.loading import PageImage
from actors.ocr.models import DocumentResult, PageResult
from actors.ocr.options import OcrOptions
from config.settings import Settings
from deployments.analytics_service.progress import JobProgress
from deployments.ocr_service import warehouse as wh
from deployments.ocr_service.document import inspect, ocr_document
from deployments.ocr_service.files import DocumentFiles
from storage.records.jobs import Jobs
from storage.records.ocr import DOCUMENT_JOB, DocumentRecord, DocumentStatus, OcrDocuments
from storage.stores import Stores

log = logging.getLogger("armillary.ocr")
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
        self.progress = JobProgress(self.jobs, stores.eventbus)
        self.files = DocumentFiles(settings.data_dir / "ocr")
        self.pages_table = settings.ocr_document_pages_table
        self._pool = ThreadPoolExecutor(settings.ocr_workers, thread_name_prefix="ocr")
        self._background: set[asyncio.Task[None]] = set()
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
        ``{"async": True, "job_id", "document_id", ...}`` while it runs in the background."""
        options = self.options(requested)
        info = await self._run(inspect, data, options)
        await self._ensure_tables()
        doc_id = uuid.uuid4().hex
        stored_options = {k: v for k, v in requested.items() if v is not None}
        if force_async or info["pages"] > self.settings.ocr_sync_max_pages:
            job = await self.jobs.create(DOCUMENT_JOB, owner, {
                "document_id": doc_id, "filename": filename, "bytes": len(data),
                "pages": info["pages"], "options": stored_options})
            await self.documents.create(doc_id, owner, filename, content_hash(data), len(data),
                                        info["doc_type"], info["pages"], stored_options, job.id)
            self._spawn(self._job(job.id, doc_id, data, options, info["pages"]))
            return {"async": True, "job_id": job.id, "document_id": doc_id,
                    "status": job.status.value, "pages": info["pages"],
                    "status_url": f"/api/v1/jobs/{job.id}", "events_channel": f"jobs.{job.id}",
                    "document_url": f"/api/v1/ocr/documents/{doc_id}"}
        await self.documents.create(doc_id, owner, filename, content_hash(data), len(data),
                                    info["doc_type"], info["pages"], stored_options)
        try:
            await self._process(doc_id, data, options)
        except Exception as exc:
            await self.documents.fail(doc_id, _message(exc))
            raise
        return {"async": False, **await self.document(doc_id, None)}

    async def _process(self, doc_id: str, data: bytes, options: OcrOptions,
                       job_id: str | None = None, total: int | None = None) -> DocumentResult:
        keep = self.settings.ocr_keep_page_images
        done = 0

        async def on_page(page: PageImage, _: PageResult) -> None:
            nonlocal done
            done += 1
            if keep and page.image is not None:
                await self._run(self.files.save_page, doc_id, page.index + 1, page.image,
                                page.dpi)
            if job_id is not None:
                await self.progress.step(job_id, "ocr", done, total)

        result = await ocr_document(data, options, self._run, on_page)
        if result.pdf is not None:
            await self._run(self.files.save_pdf, doc_id, result.pdf)
        pages = [p.to_dict() for p in result.pages]
        await wh.insert_document_pages(self.stores.warehouse, self.pages_table, doc_id, pages)
        images = keep and any(p.source == "ocr" for p in result.pages)
        await self.documents.succeed(doc_id, len(pages), round(result.mean_confidence, 2),
                                     result.fields, result.timings, result.pdf is not None,
                                     images)
        return result

    async def _job(self, job_id: str, doc_id: str, data: bytes, options: OcrOptions,
                   total: int) -> None:
        try:
            await self.progress.step(job_id, "ocr", 0, total)
            result = await self._process(doc_id, data, options, job_id, total)
        except Exception as exc:
            if not isinstance(exc, OcrInputError):
                log.exception("OCR job %s failed", job_id)
            message = _message(exc)
            with contextlib.suppress(Exception):
                await self.documents.fail(doc_id, message)
            await self.progress.finish(job_id, error=message)
        else:
            await self.progress.finish(job_id, {
                "document_id": doc_id, "pages": len(result.pages),
                "mean_confidence": round(result.mean_confidence, 2),
                "document_url": f"/api/v1/ocr/documents/{doc_id}"})

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self) -> None:
        """Cancel background jobs and stop the thread pool (tests, replica shutdown)."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pool.shutdown(wait=True, cancel_futures=True)

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
            data = await self._run(DocumentFiles.read, self.files.page_path(doc_id, page))
        if data is None:
            raise UnknownDocumentError(f"document {doc_id!r} has no image of page {page}")
        return bytes(data)

    async def searchable_pdf(self, doc_id: str, viewer: str | None) -> bytes:
        record = await self._record(doc_id, viewer)
        data = None
        if record.has_pdf:
            data = await self._run(DocumentFiles.read, self.files.pdf_path(doc_id))
        if data is None:
            raise UnknownDocumentError(
                f"document {doc_id!r} has no searchable PDF (upload it with pdf=true)")
        return bytes(data)


def _message(exc: BaseException) -> str:
    if isinstance(exc, OcrError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
