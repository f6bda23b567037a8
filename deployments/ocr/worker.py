"""The OCR job worker: the loop that claims queued document tasks, runs each under a
heartbeat that renews its lease, and hands them back when the replica stops. What a
delivery does, and why it is exactly once: :mod:`deployments.ocr.jobs`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from actors.ocr.errors import EngineInterruptedError, OcrError, OcrInputError
from actors.ocr.models import DocumentResult
from actors.ocr.options import OcrOptions
from config.settings import Settings
from deployments.ocr.checkpoints import PageCheckpoints
from deployments.ocr.files import UPLOAD, DocumentFiles
from deployments.ocr.jobs import (
    OCR_QUEUE,
    REPLICA_STOPPED,
    UPLOAD_GONE,
    DocumentTask,
    failure_message,
    interrupted_message,
)
from storage.eventbus.base import EventBus, Task
from storage.records.jobs import JobProgress
from storage.records.ocr import DocumentRecord, DocumentStatus, OcrBlobs, OcrDocuments

log = logging.getLogger("armillary.ocr")
STOP_TIMEOUT_S = 10.0
"""How long `DocumentWorker.stop` waits, at most, for the jobs it cancels to unwind."""

Process = Callable[[str, bytes, OcrOptions, str, int], Awaitable[DocumentResult]]


@dataclass(frozen=True)
class _Delivery:
    """A task this replica runs, and the heartbeat that renews its lease."""

    task: Task
    beat: asyncio.Task[None]


class DocumentWorker:
    """Runs queued document jobs of one replica: ``settings`` gives the replica's current
    settings, ``process`` OCRs one document (the service's), ``options`` turns a task's
    request options into `OcrOptions`."""

    def __init__(self, settings: Callable[[], Settings], eventbus: EventBus,
                 documents: OcrDocuments,
                 blobs: OcrBlobs, files: DocumentFiles, progress: JobProgress,
                 process: Process, options: Callable[[dict[str, Any]], OcrOptions],
                 consumer: str) -> None:
        self._settings = settings
        self.eventbus = eventbus
        self.documents = documents
        self.blobs = blobs
        self.files = files
        self.progress = progress
        self.process = process
        self.options = options
        self.consumer = consumer
        self.active: set[asyncio.Task[None]] = set()
        self._held: dict[asyncio.Task[Any], _Delivery] = {}
        self.stopped = False
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    @property
    def settings(self) -> Settings:
        return self._settings()

    def start(self) -> bool:
        """Start the loop on the running event loop (idempotent); returns whether it runs
        (never again after `stop`)."""
        if self.stopped:
            return False
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._loop())
        return not self._task.done()

    def wake(self) -> None:
        """A task was queued: claim now rather than at the next poll."""
        if self.start() and self._wake is not None:
            self._wake.set()

    async def _loop(self) -> None:
        assert self._wake is not None
        wake = self._wake
        next_reap = 0.0
        while not self.stopped:
            wake.clear()
            if (now := time.monotonic()) >= next_reap:
                next_reap = now + self.settings.ocr_job_lease_s / 3
                await self._reap()
            try:
                if await self._claim_all():
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("OCR worker iteration failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.settings.ocr_worker_poll_s)

    async def _claim_all(self) -> bool:
        """Claim tasks while there are free slots; True when `stop` began meanwhile."""
        while len(self.active) < self.settings.ocr_worker_jobs:
            task = await self.eventbus.claim(OCR_QUEUE, self.consumer,
                                             self.settings.ocr_job_lease_s)
            if task is None:
                break
            if self.stopped:  # claimed while `stop` began: not run here
                await self.eventbus.release(task)
                return True
            job = asyncio.get_running_loop().create_task(self._run_task(task))
            self.active.add(job)
            job.add_done_callback(self._job_done)
        return False

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
        self.active.discard(job)
        if self._wake is not None:
            self._wake.set()  # a free slot: claim the next task now

    async def work_once(self, consumer: str | None = None) -> bool:
        """Claim one queued document task and run it to its end here (tests, tools);
        False when the queue had none ready."""
        task = await self.eventbus.claim(OCR_QUEUE, consumer or self.consumer,
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
                    held = await self.eventbus.extend(task, lease)
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
        """One delivery of a document task: see :mod:`deployments.ocr.jobs`."""
        record = await self.documents.get(work.document_id)
        if record is None:
            log.warning("OCR task %s: no document %s, dropped", task.id, work.document_id)
            await self.end(work, error="the document was deleted", record=None)
        elif record.status is DocumentStatus.SUCCEEDED:  # done by an earlier delivery
            await self.end(work, result=_job_result(record), record=record)
        elif record.status is DocumentStatus.FAILED:
            await self.end(work, error=record.error or "OCR failed", record=record)
        elif task.attempts > self.settings.ocr_job_max_attempts:
            await self.end(work, error=interrupted_message(task.attempts))
        elif (data := await self.blobs.get(work.document_id, UPLOAD)) is None:
            await self.end(work, error=UPLOAD_GONE)
        else:
            await self._ocr(task, work, data)
        await self.eventbus.ack(task)

    async def _ocr(self, task: Task, work: DocumentTask, data: bytes) -> None:
        """OCR the document of a delivery and end its job, or raise to leave the task
        unacked (delivered again after the lease)."""
        try:
            options = self.options(work.options)
            await self.progress.step(work.job_id, "ocr", 0, work.pages)
            result = await self.process(work.document_id, data, options, work.job_id,
                                        work.pages)
        except Exception as exc:
            if self.stopped:
                # Cancelled by `stop` and failing in its cleanup (a pool that is shut
                # down, ...): the task is handed back, nothing more is written here.
                raise asyncio.CancelledError from exc
            # Tesseract killed by a signal (after recognize's own retries) is no
            # failure of the document: delivered again, like a store unreachable.
            if isinstance(exc, OcrError) and not isinstance(exc, EngineInterruptedError):
                if not isinstance(exc, OcrInputError):
                    log.exception("OCR job %s failed", work.job_id)
                await self.end(work, error=failure_message(exc))
            elif task.attempts < self.settings.ocr_job_max_attempts:
                await self.progress.step(work.job_id, "retrying", 0, work.pages)
                raise  # not acked: delivered again after the lease
            else:
                log.exception("OCR job %s failed", work.job_id)
                await self.end(work, error=f"OCR failed after {task.attempts} "
                                           f"attempts: {failure_message(exc)}")
        else:
            await self.end(work, result={
                "document_id": work.document_id, "pages": len(result.pages),
                "mean_confidence": round(result.mean_confidence, 2),
                "document_url": f"/api/v1/ocr/documents/{work.document_id}"})

    async def end(self, work: DocumentTask, result: dict[str, Any] | None = None,
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
        """Stop this replica's job work, within about ``timeout_s`` (idempotent, and the
        loop never starts again):

        1. the loop stops: no task is claimed any more;
        2. every job running here is cancelled, its heartbeat stopped, and its task
           released (``EventBus.release``): another worker claims it at once rather than
           after the lease, as a further attempt (:mod:`deployments.ocr.jobs`);
        3. the jobs get the rest of ``timeout_s`` to unwind (the service then shuts its
           thread pool down without waiting: a Tesseract call cannot be interrupted, so a
           page being recognised finishes on its thread and its result is dropped;
           nothing is written after the cancel).

        A redelivered job resumes after the pages finished here (their checkpoints); the
        page in progress is done again. A task that cannot be released in time (stores
        unreachable) comes back after its lease, as when a replica dies.
        """
        self.stopped = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if self._task is not None:  # let a claim in flight end (and give it back)
            if self._wake is not None:
                self._wake.set()
            await asyncio.wait([self._task], timeout=timeout_s / 2)
            self._task.cancel()
        await asyncio.sleep(0)  # jobs the loop just started register their delivery
        held = list(self._held.items())
        jobs = [*self.active, *(job for job, _ in held)]
        for job in jobs:
            job.cancel()
        # Hand the tasks back now, not once each job has unwound (its cleanup can wait
        # for a pool thread that is busy with a long page).
        if held:
            await asyncio.wait([asyncio.create_task(self._hand_back(d)) for _, d in held],
                               timeout=max(0.01, deadline - loop.time()))
        if jobs:
            await asyncio.wait(jobs, timeout=max(0.01, deadline - loop.time()))

    async def _hand_back(self, delivery: _Delivery) -> None:
        delivery.beat.cancel()
        await asyncio.wait([delivery.beat])  # no renewal after the release
        task = delivery.task
        try:
            released = await self.eventbus.release(task)
        except Exception:
            log.exception("OCR task %s: could not hand it back; redelivered after its "
                          "lease", task.id)
            return
        if released:
            log.info("OCR task %s handed back to the queue (attempt %d)", task.id,
                     task.attempts)


def _job_result(record: DocumentRecord) -> dict[str, Any]:
    return {"document_id": record.id, "pages": record.pages,
            "mean_confidence": record.mean_confidence,
            "document_url": f"/api/v1/ocr/documents/{record.id}"}
