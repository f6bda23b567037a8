"""Report generation through the EventBus task queue.

`request` (an API call) and `tick_schedules` (a due schedule) both create a job and
enqueue a task on ``analytics.reports``; `work_once` claims one task with a lease,
generates the report off the event loop, writes the files and the row, finishes the job
and acks. A worker that dies mid-report never acks, so the task is delivered again when
its lease runs out; the report id is fixed in the task, so a redelivery of a task whose
report was already written only finishes the job and acks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from actors.analytics.errors import AnalyticsError
from actors.analytics.report.engine import ReportConfig, ReportData, generate_report
from deployments.analytics.warehouse import load_transactions
from storage.eventbus.base import EventBus, Task
from storage.records.analytics import ReportRecord, Reports, Schedules
from storage.records.jobs import JobProgress, Jobs
from storage.warehouse.base import Warehouse

REPORT_QUEUE = "analytics.reports"
REPORT_JOB = "analytics.report"
MAX_ATTEMPTS = 3
log = logging.getLogger("armillary.analytics.reports")


@dataclass(frozen=True)
class ReportRequest:
    """One report to generate (the task payload)."""

    report_id: str
    job_id: str
    owner: str
    table: str
    options: dict[str, Any] = field(default_factory=dict)
    schedule_id: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ReportRequest:
        return cls(**payload)


def report_config(options: dict[str, Any]) -> ReportConfig:
    """`ReportConfig` from JSON options (lists become tuples); unknown keys are refused."""
    known = set(ReportConfig.__dataclass_fields__)
    unknown = set(options) - known
    if unknown:
        raise AnalyticsError(f"unknown report options {sorted(unknown)}")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    return ReportConfig(**values)


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars (and anything else odd) made JSON-serialisable."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item")
                                 else str(o)))


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


class ReportWorker:
    def __init__(self, warehouse: Warehouse, eventbus: EventBus, jobs: Jobs, reports: Reports,
                 schedules: Schedules, reports_dir: Path, lease_s: float = 600.0) -> None:
        self._wh = warehouse
        self._bus = eventbus
        self._jobs = jobs
        self._reports = reports
        self._schedules = schedules
        self._progress = JobProgress(jobs, eventbus)
        self.reports_dir = reports_dir
        self.lease_s = lease_s

    async def request(self, owner: str, table: str, options: dict[str, Any],
                      schedule_id: str | None = None, job_id: str | None = None) -> str:
        """Queue a report; returns the job id (a new job unless `job_id` is given)."""
        report_config(options)  # refuse bad options now, not in the worker
        if job_id is None:
            job = await self._jobs.create(REPORT_JOB, owner, {"table": table, **options})
            job_id = job.id
        request = ReportRequest(uuid.uuid4().hex, job_id, owner, table, options, schedule_id)
        await self._bus.enqueue(REPORT_QUEUE, asdict(request))
        return job_id

    async def tick_schedules(self, now: float | None = None) -> list[str]:
        """Queue one report per due schedule this caller won; returns their job ids."""
        return [await self.request(s.owner, s.source_table, s.config, schedule_id=s.id)
                for s in await self._schedules.claim_due(now)]

    async def work_once(self, consumer: str) -> bool:
        """Claim and run one report task; False when the queue had none."""
        task = await self._bus.claim(REPORT_QUEUE, consumer, self.lease_s)
        if task is None:
            return False
        request = ReportRequest.from_payload(task.payload)
        try:
            done = await self._reports.get(request.report_id)
            if done is None:
                done = await self._generate(request)
            await self._progress.finish(request.job_id, done.public())
        except AnalyticsError as exc:
            await self._progress.finish(request.job_id, error=str(exc))
        except Exception as exc:
            log.exception("report task %s failed (attempt %d)", task.id, task.attempts)
            if task.attempts < MAX_ATTEMPTS:
                return True  # not acked: delivered again after the lease
            await self._progress.finish(request.job_id, error=f"report failed: {exc}")
        await self._bus.ack(task)
        return True

    async def claim_only(self, consumer: str, lease_s: float) -> Task | None:
        """Claim a task without working on it (a worker that dies right after claiming)."""
        return await self._bus.claim(REPORT_QUEUE, consumer, lease_s)

    async def _generate(self, request: ReportRequest) -> ReportRecord:
        started = time.perf_counter()
        config = report_config(request.options)
        await self._progress.step(request.job_id, "loading transactions", 0, 3)
        tx = await load_transactions(self._wh, request.table)
        await self._progress.step(request.job_id, "computing report", 1, 3)
        html, pdf, kpis = await asyncio.to_thread(
            generate_report, ReportData(transactions=tx), config)
        await self._progress.step(request.job_id, "writing files", 2, 3)
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        html_path = self.reports_dir / f"{request.report_id}.html"
        pdf_path = self.reports_dir / f"{request.report_id}.pdf"
        await asyncio.to_thread(_write, html_path, html)
        await asyncio.to_thread(_write, pdf_path, pdf)
        record = ReportRecord(
            request.report_id, config.title, request.owner, request.table, request.options,
            jsonable(kpis), str(html_path), str(pdf_path), len(html), len(pdf), request.job_id,
            request.schedule_id, round(time.perf_counter() - started, 3), time.time(),
        )
        await self._reports.add(record)
        return record
