"""Analytics report rows and report schedules (Database kind, migration 0020).

A report row is written once, when its files exist; its id is chosen when the report is
requested, so a redelivered generation task finds the row and does not write it twice.
A schedule fires at `next_run_at`; `claim_due` advances it with a compare-and-set, so
of several workers ticking at once exactly one enqueues each run.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from storage.database.base import Queries, Row


@dataclass(frozen=True)
class ReportRecord:
    id: str
    title: str
    owner: str
    source_table: str
    config: dict[str, Any]
    kpis: dict[str, Any]
    html_path: str
    pdf_path: str
    html_bytes: int
    pdf_bytes: int
    job_id: str | None
    schedule_id: str | None
    seconds: float
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> ReportRecord:
        return cls(**{**row, "config": json.loads(row["config"]),
                      "kpis": json.loads(row["kpis"])})

    def public(self) -> dict[str, Any]:
        """What clients see: no server paths, links to the files instead."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("html_path", "pdf_path")}
        out["html_url"] = f"/api/v1/analytics/reports/{self.id}.html"
        out["pdf_url"] = f"/api/v1/analytics/reports/{self.id}.pdf"
        return out


class Reports:
    def __init__(self, db: Queries) -> None:
        self._db = db

    async def add(self, report: ReportRecord) -> None:
        await self._db.execute(
            "INSERT INTO analytics_reports (id, title, owner, source_table, config, kpis,"
            " html_path, pdf_path, html_bytes, pdf_bytes, job_id, schedule_id, seconds,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            report.id, report.title, report.owner, report.source_table,
            json.dumps(report.config), json.dumps(report.kpis, default=str), report.html_path,
            report.pdf_path, report.html_bytes, report.pdf_bytes, report.job_id,
            report.schedule_id, report.seconds, report.created_at,
        )

    async def get(self, report_id: str) -> ReportRecord | None:
        row = await self._db.fetchrow("SELECT * FROM analytics_reports WHERE id = $1", report_id)
        return None if row is None else ReportRecord.from_row(row)

    async def list(self, limit: int = 50, schedule_id: str | None = None) -> list[ReportRecord]:
        rows = await self._db.fetch(
            "SELECT * FROM analytics_reports WHERE (CAST($1 AS TEXT) IS NULL OR schedule_id = $1)"
            " ORDER BY created_at DESC LIMIT $2", schedule_id, limit,
        )
        return [ReportRecord.from_row(r) for r in rows]


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    owner: str
    source_table: str
    config: dict[str, Any]
    interval_s: float
    next_run_at: float
    last_run_at: float | None
    enabled: bool
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> Schedule:
        return cls(**{**row, "config": json.loads(row["config"]),
                      "enabled": bool(row["enabled"])})

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Schedules:
    def __init__(self, db: Queries) -> None:
        self._db = db

    async def create(self, name: str, owner: str, source_table: str, config: dict[str, Any],
                     interval_s: float, first_run_at: float) -> Schedule:
        schedule = Schedule(uuid.uuid4().hex, name, owner, source_table, config, interval_s,
                            first_run_at, None, True, time.time())
        await self._db.execute(
            "INSERT INTO analytics_schedules (id, name, owner, source_table, config, interval_s,"
            " next_run_at, enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)",
            schedule.id, name, owner, source_table, json.dumps(config), interval_s,
            first_run_at, schedule.created_at,
        )
        return schedule

    async def get(self, schedule_id: str) -> Schedule | None:
        row = await self._db.fetchrow(
            "SELECT * FROM analytics_schedules WHERE id = $1", schedule_id)
        return None if row is None else Schedule.from_row(row)

    async def recent(self, limit: int = 100) -> list[Schedule]:
        rows = await self._db.fetch(
            "SELECT * FROM analytics_schedules ORDER BY created_at DESC LIMIT $1", limit)
        return [Schedule.from_row(r) for r in rows]

    async def delete(self, schedule_id: str) -> bool:
        return await self._db.execute(
            "DELETE FROM analytics_schedules WHERE id = $1", schedule_id) > 0

    async def claim_due(self, now: float | None = None) -> list[Schedule]:
        """Schedules due at `now` whose run this caller won: each one's `next_run_at` is
        moved past `now` (by whole intervals) only if nobody moved it first."""
        now = time.time() if now is None else now
        rows = await self._db.fetch(
            "SELECT * FROM analytics_schedules WHERE enabled = 1 AND next_run_at <= $1"
            " ORDER BY next_run_at", now,
        )
        won: list[Schedule] = []
        for schedule in map(Schedule.from_row, rows):
            missed = int((now - schedule.next_run_at) // schedule.interval_s) + 1
            following = schedule.next_run_at + missed * schedule.interval_s
            changed = await self._db.execute(
                "UPDATE analytics_schedules SET next_run_at = $3, last_run_at = $4"
                " WHERE id = $1 AND next_run_at = $2",
                schedule.id, schedule.next_run_at, following, now,
            )
            if changed == 1:
                won.append(schedule)
        return won
