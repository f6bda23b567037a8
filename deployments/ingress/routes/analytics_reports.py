"""Analytics reports: create (an async job through the report task queue), list,
download HTML/PDF; and weekly (or other) report schedules run by the same queue.

Roles: creating reports and schedules needs ANALYSTS; reading reports and schedules is
open to ANYONE signed in (viewers read reports)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field, model_validator

from deployments.ingress.auth import Principal
from deployments.ingress.deps import Context, require
from deployments.ingress.limits import MAX_EPOCH_S, MAX_SEED, DateText, file_response
from deployments.ingress.roles import ANALYSTS, ANYONE
from storage.records.jobs import job_channel

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
Analyst = Annotated[Principal, Depends(require(ANALYSTS))]
Anyone = Annotated[Principal, Depends(require(ANYONE))]

TABLE = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
REPORT_ID = Path(pattern=r"^[0-9a-f]{32}$")
INTERVALS = {"daily": 86_400.0, "weekly": 7 * 86_400.0}


class ReportOptions(BaseModel):
    """What to report on: transactions imported into `table`."""

    table: str | None = Field(None, pattern=TABLE, description=(
        "the imported table (dataset id) to report on; default: your latest import"))
    title: str = Field("Marketing analytics report", min_length=1, max_length=200)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    as_of: DateText | None = None
    calibration_end: DateText | None = None
    holdout_days: int = Field(91, ge=0, le=3650)
    clv_horizon_weeks: float = Field(52.0, allow_inf_nan=False, gt=0, le=520)
    discount_rate: float = Field(0.10, allow_inf_nan=False, ge=0, lt=10)
    k_min: int = Field(2, ge=2, le=12)
    k_max: int = Field(6, ge=2, le=12)

    @model_validator(mode="after")
    def _k_order(self) -> ReportOptions:
        if self.k_min > self.k_max:
            raise ValueError("k_min must be <= k_max")
        return self

    def config(self) -> dict[str, Any]:
        """The report engine's options (`ReportConfig` fields)."""
        fields = set(ReportOptions.model_fields) - {"table", "k_min", "k_max"}
        out = self.model_dump(include=fields, exclude_none=True)
        out["k_range"] = [self.k_min, self.k_max]
        return out


@router.post("/reports", status_code=202)
async def create_report(ctx: Context, principal: Analyst, body: ReportOptions) -> dict[str, Any]:
    """Queue a report: 202 with the job id; the job's result is the report entry."""
    job_id = await ctx.analytics.request_report(principal.id, body.table, body.config())
    return {"job_id": job_id, "status": "queued", "status_url": f"/api/v1/jobs/{job_id}",
            "events_channel": job_channel(job_id)}


@router.get("/reports")
async def list_reports(
    ctx: Context, _: Anyone, limit: int = Query(50, ge=1, le=500),
    schedule_id: str | None = Query(None, max_length=64),
) -> list[dict[str, Any]]:
    return await ctx.analytics.list_reports(limit, schedule_id)


@router.get("/reports/{report_id}.html", **file_response("text/html", "The report"))
async def report_html(
    ctx: Context, _: Anyone, report_id: Annotated[str, REPORT_ID]
) -> Response:
    body = await ctx.analytics.report_file(report_id, "html")
    return Response(body, media_type="text/html; charset=utf-8",
                    headers={"X-Content-Type-Options": "nosniff",
                             "Content-Security-Policy": "default-src 'none'; img-src data:;"
                                                        " style-src 'unsafe-inline'"})


@router.get("/reports/{report_id}.pdf", **file_response("application/pdf", "The report"))
async def report_pdf(
    ctx: Context, _: Anyone, report_id: Annotated[str, REPORT_ID]
) -> Response:
    body = await ctx.analytics.report_file(report_id, "pdf")
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="report-{report_id}.pdf"'})


class ScheduleRequest(ReportOptions):
    name: str = Field(min_length=1, max_length=100)
    every: str = Field("weekly", pattern="^(daily|weekly)$")
    first_run_at: float | None = Field(None, allow_inf_nan=False, ge=0, le=MAX_EPOCH_S,
                                        description="epoch seconds; default now")


@router.post("/schedules", status_code=201)
async def create_schedule(
    ctx: Context, principal: Analyst, body: ScheduleRequest
) -> dict[str, Any]:
    """A recurring report; each run is a report job owned by the schedule's creator."""
    return await ctx.analytics.create_schedule(principal.id, body.name, body.table,
                                               body.config(), INTERVALS[body.every],
                                               body.first_run_at)


@router.get("/schedules")
async def list_schedules(ctx: Context, _: Anyone) -> list[dict[str, Any]]:
    return await ctx.analytics.list_schedules()


@router.delete("/schedules/{schedule_id}", status_code=204)
async def delete_schedule(
    ctx: Context, _: Analyst, schedule_id: Annotated[str, Path(max_length=64)]
) -> Response:
    await ctx.analytics.delete_schedule(schedule_id)
    return Response(status_code=204)
