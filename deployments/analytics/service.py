"""`AnalyticsService`: everything the analytics routes ask for, as plain Python over the
stores and the fitted models. Every method is async; CPU-bound work (parsing, fitting,
scoring, reports) runs in a thread (`asyncio.to_thread`) so the event loop stays free.

Long work is a job: imports and training run as background tasks of this object;
reports go through the EventBus task queue (`ReportWorker`), which the worker loop
(`start_worker`) drains and where due schedules are enqueued. Errors the client caused
are `AnalyticsError` subclasses (LookupError ones mean "not found"); their HTTP statuses:
:data:`deployments.analytics.errors.ANALYTICS_ERRORS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from actors.analytics.allocator import allocate_budget
from actors.analytics.errors import AnalyticsError, BadUploadError, UnknownCustomerError
from actors.analytics.ingest import (
    parse_transactions,
    preview_upload,
    validate_identifier,
    write_transactions,
)
from actors.analytics.rfm import compute_rfm
from actors.analytics.segments import KMeansSegmentation, segment_customers, segment_profiles
from actors.analytics.uplift import hillstrom_features, targeting_list
from config.settings import Settings
from deployments.analytics.errors import (
    UnknownReportError,
    UnknownScheduleError,
    UnknownTableError,
)
from deployments.analytics.models import ModelSet
from deployments.analytics.reports import ReportWorker, jsonable, report_config
from deployments.analytics.warehouse import table_exists
from storage.records.analytics import Reports, Schedules
from storage.records.jobs import JobProgress, Jobs
from storage.records.models import ModelRegistry
from storage.stores import Stores

log = logging.getLogger("armillary.analytics")
IMPORT_JOB, TRAINING_JOB = "analytics.import", "analytics.training"


@dataclass(frozen=True)
class Segmented:
    as_of: str
    customers: pd.DataFrame  # RFM + segment + cluster, indexed by customer_id
    kmeans: KMeansSegmentation


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return list(jsonable(frame.to_dict(orient="records")))


class AnalyticsService:
    def __init__(self, settings: Settings, stores: Stores, *,
                 model_names: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.stores = stores
        db = stores.database
        self.jobs = Jobs(db)
        self.registry = ModelRegistry(db)
        self.models = ModelSet(self.registry, model_names)
        self.reports = Reports(db)
        self.schedules = Schedules(db)
        self.progress = JobProgress(self.jobs, stores.eventbus)
        self.worker = ReportWorker(
            stores.warehouse, stores.eventbus, self.jobs, self.reports, self.schedules,
            settings.data_dir / "reports", settings.analytics_report_lease_s)
        self.consumer = f"analytics-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._segments: dict[tuple[str, str | None], Segmented] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._worker_task: asyncio.Task[None] | None = None

    # -- background work -------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_job(self, job_id: str, work: Coroutine[Any, Any, dict[str, Any]]) -> None:
        try:
            result = await work
        except AnalyticsError as exc:
            await self.progress.finish(job_id, error=str(exc))
        except Exception as exc:
            log.exception("analytics job %s failed", job_id)
            await self.progress.finish(job_id, error=f"{type(exc).__name__}: {exc}")
        else:
            await self.progress.finish(job_id, result)

    def start_worker(self) -> bool:
        """Start the report worker loop on the running event loop (idempotent); returns
        whether it is running."""
        if self._worker_task is None or self._worker_task.done():
            self._worker_task = asyncio.get_running_loop().create_task(self._worker_loop())
        return not self._worker_task.done()

    async def stop(self) -> None:
        """Stop the worker loop and any running background job."""
        tasks = [*self._background, *([self._worker_task] if self._worker_task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _worker_loop(self) -> None:
        poll = self.settings.analytics_worker_poll_s
        while True:
            try:
                await self.worker.tick_schedules()
                while await self.worker.work_once(self.consumer):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("analytics worker iteration failed")
            await asyncio.sleep(poll)

    async def work_once(self, consumer: str | None = None) -> bool:
        """Run one queued report task now (tests, and the loop's unit of work)."""
        return await self.worker.work_once(consumer or self.consumer)

    async def tick_schedules(self, now: float | None = None) -> list[str]:
        return await self.worker.tick_schedules(now)

    # -- imports ---------------------------------------------------------------------

    async def start_import(self, job_id: str, data: bytes, filename: str, table: str,
                           fmt: str | None = None) -> dict[str, Any]:
        """Check the upload (format, a data row, required columns) now, then import it
        as job `job_id` in the background. Returns the detected column mapping."""
        validate_identifier(table)
        columns = await asyncio.to_thread(preview_upload, data, fmt)
        self._spawn(self._run_job(job_id, self._import(job_id, data, filename, table, fmt)))
        return {"columns": columns}

    async def _import(self, job_id: str, data: bytes, filename: str, table: str,
                      fmt: str | None) -> dict[str, Any]:
        await self.progress.step(job_id, "parsing", 0, None)
        clean, report = await asyncio.to_thread(
            parse_transactions, data, fmt=fmt, source_name=filename)

        async def written(rows: int) -> None:
            await self.progress.step(job_id, "writing", rows, report.rows_imported)

        await write_transactions(self.stores.warehouse, clean, report, table,
                                 on_progress=written)
        for key in [k for k in self._segments if k[0] == table]:
            del self._segments[key]
        return dict(jsonable(report.to_dict()))

    # -- segments --------------------------------------------------------------------

    async def _segmented(self, table: str, as_of: str | None) -> Segmented:
        key = (table, as_of)
        if key not in self._segments:
            wh = self.stores.warehouse
            if not await table_exists(wh, table):
                raise UnknownTableError(f"no transactions imported into {table!r} yet")
            if as_of is None:
                last = await wh.query(f"SELECT max(ts) FROM {table}")
                stamp = pd.Timestamp(last.rows[0][0]).normalize() + pd.Timedelta(days=1)
            else:
                try:
                    stamp = pd.Timestamp(as_of)
                except ValueError as exc:
                    raise AnalyticsError(f"as_of {as_of!r} is not a date") from exc
            rfm = await compute_rfm(wh, stamp, table)
            seg, km = await asyncio.to_thread(segment_customers, rfm, range(2, 7), 0)
            self._segments[key] = Segmented(str(stamp.date()), seg.set_index("customer_id"), km)
        return self._segments[key]

    async def segments(self, table: str = "transactions",
                       as_of: str | None = None) -> dict[str, Any]:
        """Named RFM segments and KMeans clusters: size, share and mean RFM of each."""
        seg = await self._segmented(table, as_of)
        frame = seg.customers.reset_index()
        return {
            "table": table, "as_of": seg.as_of, "customers": len(frame),
            "kmeans": {"k": seg.kmeans.k, "silhouette": round(seg.kmeans.silhouette, 6)},
            "segments": _records(segment_profiles(frame, "segment")),
            "clusters": _records(segment_profiles(frame, "cluster")),
        }

    async def customer_segment(self, customer_id: str, table: str = "transactions",
                               as_of: str | None = None) -> dict[str, Any]:
        seg = await self._segmented(table, as_of)
        if customer_id not in seg.customers.index:
            raise UnknownCustomerError([customer_id])
        row = seg.customers.loc[customer_id]
        return {"customer_id": customer_id, "table": table, "as_of": seg.as_of,
                **jsonable(row.to_dict())}

    # -- models: CLV, uplift, allocation ---------------------------------------------

    async def customer_clv(self, customer_id: str, horizon_weeks: float = 52.0,
                           discount_rate: float = 0.10) -> dict[str, Any]:
        loaded = await self.models.get("clv")
        table = await asyncio.to_thread(
            loaded.model.predict, [customer_id], horizon_weeks, discount_rate)
        row = table.iloc[0].to_dict()
        return {"customer_id": customer_id, "horizon_weeks": horizon_weeks,
                "discount_rate": discount_rate, **jsonable(row),
                "model": {"name": loaded.version.name, "version": loaded.version.version}}

    @staticmethod
    def _experiment_frame(customers: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not customers:
            raise BadUploadError("no customers given")
        frame = pd.DataFrame(customers)
        if "customer_id" not in frame.columns or frame["customer_id"].isna().any():
            raise BadUploadError("every customer needs a customer_id")
        try:
            features = hillstrom_features(frame)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, AnalyticsError):
                raise
            raise BadUploadError(f"customer features are not numeric: {exc}") from exc
        return frame, features

    async def uplift_scores(self, customers: list[dict[str, Any]]) -> dict[str, Any]:
        """Predicted uplift (treated minus control response probability) per customer."""
        loaded = await self.models.get("uplift")
        frame, features = self._experiment_frame(customers)
        uplift = await asyncio.to_thread(loaded.model.predict_uplift, features)
        scores = [{"customer_id": str(c), "uplift": float(u)}
                  for c, u in zip(frame["customer_id"], uplift, strict=True)]
        return {"model": {"name": loaded.version.name, "version": loaded.version.version,
                          "kind": loaded.model.name}, "scores": scores}

    async def targeting(self, customers: list[dict[str, Any]], budget: float,
                        cost_per_contact: float,
                        value_per_outcome: float | None = None) -> dict[str, Any]:
        """Whom to contact for `budget`: highest positive uplift first."""
        loaded = await self.models.get("uplift")
        frame, features = self._experiment_frame(customers)
        chosen = await asyncio.to_thread(targeting_list, loaded.model, frame, features, budget,
                                         cost_per_contact, value_per_outcome)
        return {"model": {"name": loaded.version.name, "version": loaded.version.version},
                "budget": budget, "cost_per_contact": cost_per_contact,
                "contacts": len(chosen), "spent": float(len(chosen) * cost_per_contact),
                "targets": _records(chosen)}

    async def allocate(self, total: float | None, current: dict[str, float] | None = None,
                       bounds: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
        """Weekly budget over the media channels maximising the fitted response."""
        loaded = await self.models.get("mmm")
        start = current or loaded.model.current_weekly_spend
        result = await asyncio.to_thread(allocate_budget, loaded.model, start, total, bounds)
        return {**jsonable(result.__dict__), "improvement": result.improvement,
                "model": {"name": loaded.version.name, "version": loaded.version.version,
                          "r2": loaded.model.r2}}

    async def model_versions(self) -> dict[str, Any]:
        return await self.models.describe()

    def configure_models(self, config: dict[str, Any]) -> None:
        """``{"names": {role: registry name}, "versions": {role: version}}`` (both
        optional): which registered models to serve."""
        names, pins = config.get("names"), config.get("versions")
        if names is not None and not isinstance(names, dict):
            raise AnalyticsError("names must map model roles to registry names")
        if pins is not None and not isinstance(pins, dict):
            raise AnalyticsError("versions must map model roles to version numbers")
        self.models.configure(names, {k: int(v) for k, v in (pins or {}).items()})

    # -- reports and schedules -------------------------------------------------------

    async def request_report(self, owner: str, table: str, options: dict[str, Any],
                             job_id: str | None = None) -> str:
        validate_identifier(table)
        return await self.worker.request(owner, table, options, job_id=job_id)

    async def list_reports(self, limit: int = 50,
                           schedule_id: str | None = None) -> list[dict[str, Any]]:
        return [r.public() for r in await self.reports.list(limit, schedule_id)]

    async def report_file(self, report_id: str, fmt: str) -> bytes:
        """The stored HTML or PDF of a report."""
        if fmt not in ("html", "pdf"):
            raise AnalyticsError("format must be html or pdf")
        record = await self.reports.get(report_id)
        if record is None:
            raise UnknownReportError(f"no report {report_id!r}")
        path = Path(record.html_path if fmt == "html" else record.pdf_path)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise UnknownReportError(f"the {fmt} file of report {report_id!r} is gone") from exc

    async def create_schedule(self, owner: str, name: str, table: str, options: dict[str, Any],
                              interval_s: float, first_run_at: float | None = None
                              ) -> dict[str, Any]:
        validate_identifier(table)
        report_config(options)
        schedule = await self.schedules.create(
            name, owner, table, options, interval_s,
            time.time() if first_run_at is None else first_run_at)
        return schedule.public()

    async def list_schedules(self) -> list[dict[str, Any]]:
        return [s.public() for s in await self.schedules.recent()]

    async def delete_schedule(self, schedule_id: str) -> None:
        if not await self.schedules.delete(schedule_id):
            raise UnknownScheduleError(f"no schedule {schedule_id!r}")

    # -- training --------------------------------------------------------------------

    async def start_training(self, job_id: str, quick: bool = False, seed: int = 0) -> None:
        """Fit every model as Ray tasks, register the artifacts, serve the new versions."""
        from training.analytics_train import DEFAULT_DATA

        data_dir = self.settings.analytics_training_data or DEFAULT_DATA
        if not data_dir.is_dir():
            raise BadUploadError(f"training data not found at {data_dir}")
        self._spawn(self._run_job(job_id, self._train(job_id, data_dir, quick, seed)))

    async def _train(self, job_id: str, data_dir: Path, quick: bool,
                     seed: int) -> dict[str, Any]:
        from training.analytics_train import register_summary, train_all

        await self.progress.step(job_id, "fitting", 0, 2)
        out = self.settings.data_dir / "models" / "analytics"
        summary = await asyncio.to_thread(train_all, data_dir, out, seed, quick,
                                          self.settings.analytics_task_cpus)
        await self.progress.step(job_id, "registering", 1, 2)
        versions = await register_summary(self.registry, summary)
        self.models.configure(None, self.models.pins)
        return {"models": versions, "wall_seconds": summary["wall_seconds"]}
