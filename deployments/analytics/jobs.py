"""Transaction imports: the job kind ``analytics.import`` (:mod:`storage.jobs`).

The service checks the upload (format, a data row, the required columns) before the job
exists, then stores the upload's bytes with the job (`JobBlobs`, shared by every replica)
and queues it. A delivery parses the upload off the event loop and appends it to the
Warehouse table in chunks, with progress ("parsing", then "writing" rows of rows); its
result is the import report. Appending is not idempotent, so an import is tried once: one
whose worker stopped or died fails with a message that says so (upload it again), and
the upload is deleted when the job ends either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from actors.analytics.ingest import parse_transactions, write_transactions
from deployments.analytics.reports import analytics_final, jsonable
from storage.jobs import JobFailed, JobKind, JobRun, KindPolicy
from storage.jobs.kinds import Result
from storage.records.jobs import Job, JobBlobs
from storage.warehouse.base import Warehouse

IMPORT_JOB, IMPORT_QUEUE = "analytics.import", "analytics.imports"
IMPORT_LEASE_S = 60.0
UPLOAD = "upload"
UPLOAD_GONE = "the uploaded file is no longer stored; upload it again"


class ImportJobs:
    """The handler of ``analytics.import`` jobs; ``imported(table)`` is called after a
    table changed (the service forgets what it computed from it)."""

    def __init__(self, warehouse: Warehouse, blobs: JobBlobs,
                 imported: Callable[[str], None]) -> None:
        self._wh = warehouse
        self.blobs = blobs
        self.imported = imported

    def kind(self) -> JobKind:
        return JobKind(IMPORT_JOB, IMPORT_QUEUE, self.run,
                       lambda: KindPolicy(lease_s=IMPORT_LEASE_S, max_attempts=1),
                       label="import", final=analytics_final, on_end=self.on_end)

    @staticmethod
    def payload(table: str, filename: str, fmt: str | None) -> dict[str, Any]:
        return {"table": table, "filename": filename, "fmt": fmt}

    async def run(self, run: JobRun) -> dict[str, Any]:
        data = await self.blobs.get(run.id, UPLOAD)
        if data is None:
            raise JobFailed(UPLOAD_GONE)
        table, filename = str(run.payload["table"]), str(run.payload["filename"])
        await run.step("parsing", 0, None)
        clean, report = await asyncio.to_thread(
            parse_transactions, data, fmt=run.payload.get("fmt"), source_name=filename)

        async def written(rows: int) -> None:
            await run.step("writing", rows, report.rows_imported)

        await write_transactions(self._wh, clean, report, table, on_progress=written)
        self.imported(table)
        return {**dict(jsonable(report.to_dict())), "dataset_id": table}

    async def on_end(self, job: Job, result: Result, error: str | None) -> None:
        await self.blobs.delete(job.id)
