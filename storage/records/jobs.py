"""Long-running jobs (batch OCR, imports, training) and their progress (Database kind)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from storage.database.base import Queries, Row


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

    @classmethod
    def from_row(cls, row: Row) -> Job:
        return cls(
            **{
                **row,
                "status": JobStatus(row["status"]),
                "params": json.loads(row["params"]),
                "result": None if row["result"] is None else json.loads(row["result"]),
            }
        )

    def public(self) -> dict[str, Any]:
        return {**self.__dict__, "status": self.status.value}


class Jobs:
    def __init__(self, db: Queries) -> None:
        self._db = db

    async def create(self, kind: str, owner: str, params: dict[str, Any]) -> Job:
        now = time.time()
        job_id = uuid.uuid4().hex
        await self._db.execute(
            "INSERT INTO jobs (id, kind, status, owner, params, done, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
            job_id, kind, JobStatus.QUEUED.value, owner, json.dumps(params), now,
        )
        return Job(job_id, kind, JobStatus.QUEUED, owner, params, 0, None, None, None, now, now)

    async def get(self, job_id: str) -> Job | None:
        row = await self._db.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
        return None if row is None else Job.from_row(row)

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
            "UPDATE jobs SET status = $2, result = $3, error = $4, updated_at = $5 WHERE id = $1",
            job_id, status.value, None if result is None else json.dumps(result), error,
            time.time(),
        )

    async def list(self, kind: str | None = None, limit: int = 50) -> list[Job]:
        rows = await self._db.fetch(
            "SELECT * FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR kind = $1)"
            " ORDER BY created_at DESC LIMIT $2", kind, limit,
        )
        return [Job.from_row(r) for r in rows]
