"""Background jobs (imports, training, reports, OCR documents, batch OCR) and their
progress (Database kind).

A job row is what clients see (``GET /api/v1/jobs/{id}``: status, progress, result or
error) and, for jobs run by the job system (:mod:`storage.jobs`), the source of truth a
worker runs from: the ``payload`` (internal), which delivery of the job's queue task holds
it (``task_id``, ``worker``) until ``lease_until`` (renewed by the worker's heartbeat),
how many times a worker took it (``attempts``) and the reaper's last ``notice``.
`JobProgress` writes progress to the row and publishes it on :func:`job_channel`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from storage.database.base import Queries, Row
from storage.eventbus.base import EventBus
from storage.records.blobs import BlobTable
from storage.records.job_failures import explain_failure

ACTIVE = ("queued", "running")
"""Statuses of a job that has not ended."""


def job_channel(job_id: str) -> str:
    """The EventBus channel of a job's progress events."""
    return f"jobs.{job_id}"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    status: JobStatus
    owner: str
    params: dict[str, Any]
    done: int
    total: int | None
    result: dict[str, Any] | None
    error: str | None
    created_at: float
    updated_at: float
    payload: dict[str, Any] | None = None
    task_id: str | None = None
    worker: str | None = None
    lease_until: float | None = None
    attempts: int = 0
    notice: str | None = None

    @classmethod
    def from_row(cls, row: Row) -> Job:
        def parsed(key: str) -> Any:
            value = row.get(key)
            return None if value is None else json.loads(value)

        return cls(**{**row, "status": JobStatus(row["status"]), "params": parsed("params"),
                      "result": parsed("result"), "payload": parsed("payload"),
                      "attempts": int(row.get("attempts") or 0)})

    @property
    def active(self) -> bool:
        return self.status.value in ACTIVE

    def public(self) -> dict[str, Any]:
        """What clients see; a failed job also carries ``reason`` (a sentence for a person)
        and ``detail`` (the recorded error behind it, None when the reason says it all):
        :func:`storage.records.job_failures.explain_failure`."""
        hidden = ("payload", "task_id", "worker", "lease_until")
        out = {**{k: v for k, v in self.__dict__.items() if k not in hidden},
               "status": self.status.value}
        if self.status is JobStatus.FAILED:
            failure = explain_failure(self.error or "", self.kind)
            out["reason"], out["detail"] = failure.reason, failure.detail
        return out


class Jobs:
    def __init__(self, db: Queries) -> None:
        self._db = db

    async def create(self, kind: str, owner: str, params: dict[str, Any],
                     payload: dict[str, Any] | None = None) -> Job:
        now = time.time()
        job_id = uuid.uuid4().hex
        await self._db.execute(
            "INSERT INTO jobs (id, kind, status, owner, params, done, created_at, updated_at,"
            " payload) VALUES ($1, $2, $3, $4, $5, 0, $6, $6, $7)",
            job_id, kind, JobStatus.QUEUED.value, owner, json.dumps(params), now,
            None if payload is None else json.dumps(payload),
        )
        return Job(job_id, kind, JobStatus.QUEUED, owner, params, 0, None, None, None, now, now,
                   payload)

    async def get(self, job_id: str) -> Job | None:
        row = await self._db.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
        return None if row is None else Job.from_row(row)

    async def delete(self, job_id: str) -> None:
        await self._db.execute("DELETE FROM jobs WHERE id = $1", job_id)

    async def progress(self, job_id: str, done: int, total: int | None) -> None:
        await self._db.execute(
            "UPDATE jobs SET status = $2, done = $3, total = $4, updated_at = $5 WHERE id = $1",
            job_id, JobStatus.RUNNING.value, done, total, time.time(),
        )

    async def finish(
        self, job_id: str, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        status = JobStatus.FAILED if error is not None else JobStatus.SUCCEEDED
        await self._db.execute(
            "UPDATE jobs SET status = $2, result = $3, error = $4, updated_at = $5,"
            " lease_until = NULL WHERE id = $1",
            job_id, status.value, None if result is None else json.dumps(result), error,
            time.time(),
        )

    # -- the job system's leases (storage.jobs) -------------------------------------

    async def take(self, job_id: str, task_id: str, worker: str, lease_s: float) -> Job | None:
        """Mark the job running for delivery ``task_id`` of its queue task, held by
        ``worker`` for ``lease_s``, and count the attempt; the job as taken, or None when
        it is not this delivery's to run: it ended, or another task's delivery holds it
        and its lease has not run out. A redelivery of the same task always takes it (the
        queue hands a task to one consumer at a time)."""
        now = time.time()
        taken = await self._db.execute(
            "UPDATE jobs SET status = 'running', task_id = $2, worker = $3, lease_until = $4,"
            " attempts = attempts + 1, updated_at = $5 WHERE id = $1 AND (status = 'queued'"
            " OR (status = 'running' AND (task_id IS NULL OR task_id = $2"
            " OR lease_until IS NULL OR lease_until < $5)))",
            job_id, task_id, worker, now + lease_s, now,
        )
        return await self.get(job_id) if taken else None

    async def renew(self, job_id: str, task_id: str, lease_s: float) -> bool:
        """Extend the lease of the delivery that holds the job; False when it no longer
        does (the job ended, or was taken over or re-queued)."""
        renewed = await self._db.execute(
            "UPDATE jobs SET lease_until = $3 WHERE id = $1 AND task_id = $2"
            " AND status = 'running'", job_id, task_id, time.time() + lease_s,
        )
        return bool(renewed)

    async def requeue(self, job: Job, notice: str) -> bool:
        """Put a job that was found orphaned back to ``queued``, with the reason; False
        when it changed since it was read (a worker took it meanwhile)."""
        changed = await self._db.execute(
            "UPDATE jobs SET status = 'queued', task_id = NULL, worker = NULL,"
            " lease_until = NULL, notice = $4, updated_at = $5 WHERE id = $1"
            " AND status = $2 AND COALESCE(task_id, '') = $3",
            job.id, job.status.value, job.task_id or "", notice, time.time(),
        )
        return bool(changed)

    async def fail_orphan(self, job: Job, error: str) -> bool:
        """Fail a job that was found orphaned, with the reason; False when it changed
        since it was read."""
        changed = await self._db.execute(
            "UPDATE jobs SET status = 'failed', error = $4, notice = $4, lease_until = NULL,"
            " updated_at = $5 WHERE id = $1 AND status = $2 AND COALESCE(task_id, '') = $3",
            job.id, job.status.value, job.task_id or "", error, time.time(),
        )
        return bool(changed)

    async def count_active(self, owner: str | None = None, kind: str | None = None) -> int:
        """Jobs queued or running, of ``owner`` and of ``kind`` (None: any)."""
        return int(await self._db.fetchval(
            "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')"
            " AND (CAST($1 AS TEXT) IS NULL OR owner = $1)"
            " AND (CAST($2 AS TEXT) IS NULL OR kind = $2)", owner, kind,
        ) or 0)

    async def stale(self, kind: str, status: JobStatus, before: float,
                    limit: int = 100) -> list[Job]:
        """Jobs of ``kind`` in ``status`` whose lease (running) or last change (queued)
        is older than ``before``: candidates for the reaper."""
        column = "lease_until" if status is JobStatus.RUNNING else "updated_at"
        rows = await self._db.fetch(
            f"SELECT * FROM jobs WHERE kind = $1 AND status = $2"
            f" AND ({column} IS NULL OR {column} < $3) ORDER BY created_at LIMIT $4",
            kind, status.value, before, limit,
        )
        return [Job.from_row(r) for r in rows]

    async def latest(self, owner: str, kind: str,
                     status: JobStatus = JobStatus.SUCCEEDED) -> Job | None:
        """The most recently created job of ``owner`` and ``kind`` in ``status``."""
        row = await self._db.fetchrow(
            "SELECT * FROM jobs WHERE owner = $1 AND kind = $2 AND status = $3"
            " ORDER BY created_at DESC LIMIT 1", owner, kind, status.value,
        )
        return None if row is None else Job.from_row(row)

    async def list(self, kind: str | None = None, limit: int = 50) -> list[Job]:
        rows = await self._db.fetch(
            "SELECT * FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR kind = $1)"
            " ORDER BY created_at DESC LIMIT $2", kind, limit,
        )
        return [Job.from_row(r) for r in rows]


class JobProgress:
    """Progress of a job: the job row (`Jobs`) and a live event on :func:`job_channel`
    for every step, notice and end."""

    def __init__(self, jobs: Jobs, eventbus: EventBus) -> None:
        self._jobs = jobs
        self._bus = eventbus

    async def step(self, job_id: str, stage: str, done: int, total: int | None) -> None:
        await self._jobs.progress(job_id, done, total)
        await self._bus.publish(job_channel(job_id), {
            "job_id": job_id, "status": "running", "stage": stage, "done": done,
            "total": total, "at": time.time()})

    async def notice(self, job_id: str, status: str, reason: str) -> None:
        """Publish what happened to a job besides progress (re-queued, ...)."""
        await self._bus.publish(job_channel(job_id), {
            "job_id": job_id, "status": status, "notice": reason, "at": time.time()})

    async def finish(self, job_id: str, result: dict[str, Any] | None = None,
                     error: str | None = None) -> None:
        await self._jobs.finish(job_id, result, error)
        await self._bus.publish(job_channel(job_id), {
            "job_id": job_id, "status": "failed" if error is not None else "succeeded",
            "result": result, "error": error, "at": time.time()})


class JobBlobs(BlobTable):
    """A job's inputs as bytes (e.g. an import's upload), readable by the worker that runs
    it on any node; the job's kind deletes them when the job ends."""

    def __init__(self, db: Queries) -> None:
        super().__init__(db, "job_blobs", "job_id")
