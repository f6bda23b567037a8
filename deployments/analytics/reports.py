"""Reports: the job kind ``analytics.report`` (:mod:`storage.jobs`).

A report is requested by an API call or by a due schedule (the analytics worker loop's
chore); either way the service validates the options, then submits a job whose payload
fixes the report id (`ReportRequest`). A delivery generates the report off the event loop,
writes the files and the row, and returns the report entry as the job's result. A worker
that dies mid-report never acks, so the job is delivered again when its lease runs out; a
delivery that finds its report written already only returns it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from actors.analytics.errors import AnalyticsError
from actors.analytics.report.engine import ReportConfig, ReportData, generate_report
from deployments.analytics.warehouse import load_transactions
from storage.jobs import JobKind, JobRun, KindPolicy
from storage.records.analytics import ReportRecord, Reports
from storage.warehouse.base import Warehouse

REPORT_QUEUE = "analytics.reports"
REPORT_JOB = "analytics.report"
MAX_ATTEMPTS = 3
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class ReportRequest:
    """One report to generate (the job's payload)."""

    report_id: str
    owner: str
    table: str
    options: dict[str, Any] = field(default_factory=dict)
    schedule_id: str | None = None

    @classmethod
    def new(cls, owner: str, table: str, options: dict[str, Any],
            schedule_id: str | None = None) -> ReportRequest:
        return cls(uuid.uuid4().hex, owner, table, options, schedule_id)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ReportRequest:
        return cls(**{k: payload[k] for k in cls.__dataclass_fields__ if k in payload})

    def payload(self) -> dict[str, Any]:
        return asdict(self)


def report_config(options: dict[str, Any]) -> ReportConfig:
    """`ReportConfig` from JSON options (lists become tuples); unknown keys and a seed out
    of numpy's range are refused."""
    known = set(ReportConfig.__dataclass_fields__)
    unknown = set(options) - known
    if unknown:
        raise AnalyticsError(f"unknown report options {sorted(unknown)}")
    seed = options.get("seed", 0)
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise AnalyticsError(f"seed must be an integer from 0 to {MAX_SEED}")
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


def analytics_final(exc: BaseException) -> str | None:
    """An analytics error (the data's or the request's fault) fails the job at once."""
    return str(exc) if isinstance(exc, AnalyticsError) else None


class ReportJobs:
    """The handler of ``analytics.report`` jobs: ``lease_s()`` is the current lease."""

    def __init__(self, warehouse: Warehouse, reports: Reports, reports_dir: Path,
                 lease_s: Callable[[], float]) -> None:
        self._wh = warehouse
        self._reports = reports
        self.reports_dir = reports_dir
        self.lease_s = lease_s

    def kind(self) -> JobKind:
        return JobKind(REPORT_JOB, REPORT_QUEUE, self.run,
                       lambda: KindPolicy(lease_s=self.lease_s(), max_attempts=MAX_ATTEMPTS),
                       label="report", final=analytics_final)

    async def run(self, run: JobRun) -> dict[str, Any]:
        request = ReportRequest.from_payload(run.payload)
        done = await self._reports.get(request.report_id)
        if done is None:
            done = await self._generate(run, request)
        return done.public()

    async def _generate(self, run: JobRun, request: ReportRequest) -> ReportRecord:
        started = time.perf_counter()
        config = report_config(request.options)
        await run.step("loading transactions", 0, 3)
        tx = await load_transactions(self._wh, request.table)
        await run.step("computing report", 1, 3)
        html, pdf, kpis = await asyncio.to_thread(
            generate_report, ReportData(transactions=tx), config)
        await run.step("writing files", 2, 3)
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        html_path = self.reports_dir / f"{request.report_id}.html"
        pdf_path = self.reports_dir / f"{request.report_id}.pdf"
        await asyncio.to_thread(_write, html_path, html)
        await asyncio.to_thread(_write, pdf_path, pdf)
        record = ReportRecord(
            request.report_id, config.title, request.owner, request.table, request.options,
            jsonable(kpis), str(html_path), str(pdf_path), len(html), len(pdf), run.id,
            request.schedule_id, round(time.perf_counter() - started, 3), time.time(),
        )
        await self._reports.add(record)
        return record
