"""A job that a command runs in the foreground (``python -m training.crypto_train``), not
through a queue: `holding` takes its row for this process with a lease that a heartbeat
renews while the body runs. The reaper leaves the job alone while the command lives, and
fails it with the reason if the command dies (such a job has no payload to run again)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from storage.jobs.beating import beating
from storage.records.jobs import Jobs

HOLD_LEASE_S = 60.0


@contextlib.asynccontextmanager
async def holding(jobs: Jobs, job_id: str, holder: str,
                  lease_s: float = HOLD_LEASE_S) -> AsyncIterator[None]:
    """Hold job ``job_id`` as ``holder`` while the body runs (the body ends the job)."""
    delivery = f"{holder}:{uuid.uuid4().hex[:8]}"
    if await jobs.take(job_id, delivery, holder, lease_s) is None:
        raise RuntimeError(f"job {job_id} has ended or is held by another worker")

    async with beating(lambda: jobs.renew(job_id, delivery, lease_s), lease_s / 3,
                       f"lease of job {job_id}"):
        yield
