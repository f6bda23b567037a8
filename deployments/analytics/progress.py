"""Job progress for analytics work: the job row (`GET /api/v1/jobs/{id}`) and a live
event on the EventBus channel ``jobs.<job id>`` for every step."""

from __future__ import annotations

import time
from typing import Any

from storage.eventbus.base import EventBus
from storage.records.jobs import Jobs


def job_channel(job_id: str) -> str:
    return f"jobs.{job_id}"


class JobProgress:
    def __init__(self, jobs: Jobs, eventbus: EventBus) -> None:
        self._jobs = jobs
        self._bus = eventbus

    async def step(self, job_id: str, stage: str, done: int, total: int | None) -> None:
        await self._jobs.progress(job_id, done, total)
        await self._bus.publish(job_channel(job_id), {
            "job_id": job_id, "status": "running", "stage": stage, "done": done,
            "total": total, "at": time.time()})

    async def finish(self, job_id: str, result: dict[str, Any] | None = None,
                     error: str | None = None) -> None:
        await self._jobs.finish(job_id, result, error)
        await self._bus.publish(job_channel(job_id), {
            "job_id": job_id, "status": "failed" if error is not None else "succeeded",
            "result": result, "error": error, "at": time.time()})
