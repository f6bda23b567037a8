"""`AnalyticsService`: everything the analytics routes ask for, as plain Python over the
stores and the fitted models. Every method is async; CPU-bound work (parsing, fitting,
scoring, reports) runs in a thread (`asyncio.to_thread`) so the event loop stays free.

Long work is a job of the job system (:mod:`storage.jobs`): imports
(:mod:`deployments.analytics.jobs`), reports (:mod:`deployments.analytics.reports`) and
training; requests are validated before their job exists (4xx), submissions over the job
limits are refused (429), and the worker loop (`start_worker`, or the first submission)
runs them and enqueues due report schedules. Errors the client caused are `AnalyticsError`
subclasses (LookupError ones mean "not found"); their HTTP statuses:
:data:`deployments.analytics.errors.ANALYTICS_ERRORS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from actors.analytics.allocator import allocate_budget
from actors.analytics.errors import (
    AnalyticsError,
    BadUploadError,
    NotFittedError,
    UnknownCustomerError,
)
from actors.analytics.ingest import preview_upload, validate_identifier
from actors.analytics.rfm import compute_rfm
from actors.analytics.sample import sample_file
from actors.analytics.segments import KMeansSegmentation, segment_customers, segment_profiles
from actors.analytics.training import DATASET_ROLES, REFERENCE
from actors.analytics.uplift import hillstrom_features, targeting_list
from config.settings import Settings
from deployments.analytics.errors import (
    UnknownReportError,
    UnknownScheduleError,
    UnknownTableError,
)
from deployments.analytics.jobs import IMPORT_JOB, UPLOAD, ImportJobs
from deployments.analytics.models import ModelSet, train_hint
from deployments.analytics.reports import (
    REPORT_JOB,
    ReportJobs,
    ReportRequest,
    jsonable,
    report_config,
)
from deployments.analytics.training import TRAINING_JOB, TrainingJobs
from deployments.analytics.warehouse import table_exists
from storage.jobs import Chore, JobSystem
from storage.jobs.kinds import failure_message
from storage.jobs.tasks import ProcessTasks, TaskRunner
from storage.records.analytics import Reports, Schedules
from storage.records.jobs import Job, JobBlobs, Jobs
from storage.records.models import ModelRegistry
from storage.stores import Stores

log = logging.getLogger("armillary.analytics")


@dataclass(frozen=True)
class Segmented:
    as_of: str
    customers: pd.DataFrame  # RFM + segment + cluster, indexed by customer_id
    kmeans: KMeansSegmentation


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return list(jsonable(frame.to_dict(orient="records")))


class AnalyticsService:
    def __init__(self, settings: Settings, stores: Stores, *,
                 model_names: dict[str, str] | None = None,
                 tasks: TaskRunner | None = None) -> None:
        """``tasks``: where training runs (default: a child process; the Serve
        deployment passes Ray tasks with the batch resources)."""
        self.settings = settings
        self.stores = stores
        db = stores.database
        self.registry = ModelRegistry(db, settings.model_keep_versions)
        self.models = ModelSet(self.registry, model_names)
        self.reports = Reports(db)
        self.schedules = Schedules(db)
        self.blobs = JobBlobs(db)
        self.consumer = f"analytics-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._segments: dict[tuple[str, str | None], Segmented] = {}
        self.tasks = tasks or ProcessTasks()
        self._wire_jobs()

    def _wire_jobs(self) -> None:
        self.import_jobs = ImportJobs(self.stores.warehouse, self.blobs, self._forget)
        self.report_jobs = ReportJobs(self.stores.warehouse, self.reports,
                                      self.settings.data_dir / "reports",
                                      lambda: self.settings.analytics_report_lease_s)
        self.training_jobs = TrainingJobs(lambda: self.settings, self.registry, self.models,
                                          self.tasks, self.stores.warehouse)
        kinds = [self.import_jobs.kind(), self.report_jobs.kind(), self.training_jobs.kind()]
        self.job_system = JobSystem(
            self.stores.database, self.stores.eventbus, kinds, consumer=self.consumer,
            poll_s=lambda: self.settings.analytics_worker_poll_s,
            reap_s=lambda: self.settings.job_reap_s,
            user_limit=lambda: self.settings.job_user_max_active,
            chores=[Chore("report-schedules", lambda: self.settings.analytics_worker_poll_s,
                          self.tick_schedules)])
        self.jobs = self.job_system.jobs
        self.progress = self.job_system.progress
        self.worker = self.job_system.worker

    # -- the job worker (storage.jobs.worker) ----------------------------------------

    def start_worker(self) -> bool:
        """Start the job worker loop on the running event loop (idempotent); returns
        whether it runs (never again after `stop`)."""
        return self.worker.start()

    async def stop(self) -> None:
        """Stop the worker loop (its jobs are handed back) and the training processes."""
        await self.worker.stop()
        await self.tasks.close()

    async def work_once(self, consumer: str | None = None) -> bool:
        """Claim one queued job task and run it to its end here (tests, tools); False
        when none was ready."""
        return await self.worker.work_once(consumer=consumer)

    async def tick_schedules(self, now: float | None = None) -> list[str]:
        """Queue one report per due schedule this caller won; returns their job ids.
        (The suite's own work: not counted against the owner's job limits.)"""
        out = []
        for schedule in await self.schedules.claim_due(now):
            request = ReportRequest.new(schedule.owner, schedule.source_table,
                                        schedule.config, schedule.id)
            job = await self.job_system.create(
                REPORT_JOB, schedule.owner, {"table": schedule.source_table,
                                             **schedule.config},
                request.payload(), limited=False)
            await self.job_system.enqueue(job, wake=False)
            out.append(job.id)
        return out

    # -- imports ---------------------------------------------------------------------

    async def start_import(self, owner: str, data: bytes, filename: str, table: str,
                           fmt: str | None = None) -> dict[str, Any]:
        """Check the upload (format, a data row, required columns), then queue its import
        job (within the job limits). Returns the job and the detected column mapping."""
        validate_identifier(table)
        if table == REFERENCE:
            raise BadUploadError(f"{REFERENCE!r} names the benchmark sets; import into "
                                 "another table")
        columns = await asyncio.to_thread(preview_upload, data, fmt)
        job = await self.job_system.create(
            IMPORT_JOB, owner, {"filename": filename, "table": table, "bytes": len(data)},
            self.import_jobs.payload(table, filename, fmt))
        try:
            await self.blobs.put(job.id, UPLOAD, data)
            await self.job_system.enqueue(job)
        except Exception as exc:
            await self._not_queued(job, exc)
            raise
        return {"job_id": job.id, "status": job.status.value, "columns": columns,
                "dataset_id": table}

    async def start_sample_import(self, owner: str, table: str | None = None
                                  ) -> dict[str, Any]:
        """Import the sample transactions (:mod:`actors.analytics.sample`: the real Online
        Retail invoices from the shared data when present, else a SYNTHETIC file) into
        ``table`` (default: a name that says which) through the same import job as an
        upload; says which it was."""
        sample = await asyncio.to_thread(sample_file, self.settings.marketing_data)
        started = await self.start_import(owner, sample.data, sample.filename,
                                          table or sample.table, "csv")
        return {**started, "source": sample.source, "synthetic": sample.synthetic}

    async def _not_queued(self, job: Job, exc: Exception) -> None:
        with contextlib.suppress(Exception):
            await self.progress.finish(
                job.id, error=f"the job could not be queued: {failure_message(exc)}")
        with contextlib.suppress(Exception):
            await self.blobs.delete(job.id)

    def _forget(self, table: str) -> None:
        """``table`` changed: drop what was computed from it."""
        for key in [k for k in self._segments if k[0] == table]:
            del self._segments[key]

    # -- datasets --------------------------------------------------------------------

    async def latest_dataset(self, owner: str | None) -> str | None:
        """The dataset of ``owner``'s latest successful import (its table), if any."""
        if owner is None:
            return None
        job = await Jobs(self.stores.database).latest(owner, IMPORT_JOB)
        return None if job is None else str(job.params["table"])

    async def dataset_for(self, owner: str | None, dataset_id: str | None,
                          role: str = "clv") -> str:
        """The dataset a lookup of ``role`` answers from: ``dataset_id`` when given
        ("reference" or an import's table), else ``owner``'s latest import when that
        dataset can train ``role``, else the reference sets."""
        if dataset_id is not None:
            return dataset_id if dataset_id == REFERENCE else validate_identifier(dataset_id)
        if role in DATASET_ROLES:
            latest = await self.latest_dataset(owner)
            if latest is not None:
                return latest
        return REFERENCE

    def _transactions_only(self, role: str, dataset_id: str, needs: str) -> None:
        """A transactions import cannot train ``role``: 409 naming what can."""
        if dataset_id != REFERENCE:
            raise NotFittedError(
                f"dataset {dataset_id!r} holds transactions; {role} models need {needs}, so "
                f"they are trained on the reference data: use dataset_id 'reference' "
                f"({train_hint(REFERENCE)})")

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

    async def _segment_table(self, table: str | None, owner: str | None,
                             dataset_id: str | None) -> str:
        if dataset_id is not None or table is None:
            chosen = await self.dataset_for(owner, dataset_id, "segments")
            if chosen == REFERENCE:
                if dataset_id is None:
                    return "transactions"
                raise UnknownTableError(
                    "segments are computed from imported transactions; import them "
                    "(POST /api/v1/analytics/imports) and pass that dataset_id")
            return chosen
        return table

    async def segments(self, table: str | None = "transactions",
                       as_of: str | None = None, owner: str | None = None,
                       dataset_id: str | None = None) -> dict[str, Any]:
        """Named RFM segments and KMeans clusters: size, share and mean RFM of each, of
        ``dataset_id`` (an import's table; default ``table``, or when that is None the
        caller's latest import)."""
        table = await self._segment_table(table, owner, dataset_id)
        seg = await self._segmented(table, as_of)
        frame = seg.customers.reset_index()
        return {
            "table": table, "dataset_id": table, "as_of": seg.as_of, "customers": len(frame),
            "kmeans": {"k": seg.kmeans.k, "silhouette": round(seg.kmeans.silhouette, 6)},
            "segments": _records(segment_profiles(frame, "segment")),
            "clusters": _records(segment_profiles(frame, "cluster")),
        }

    async def customer_segment(self, customer_id: str, table: str | None = "transactions",
                               as_of: str | None = None, owner: str | None = None,
                               dataset_id: str | None = None) -> dict[str, Any]:
        table = await self._segment_table(table, owner, dataset_id)
        seg = await self._segmented(table, as_of)
        if customer_id not in seg.customers.index:
            raise UnknownCustomerError([customer_id])
        row = seg.customers.loc[customer_id]
        return {"customer_id": customer_id, "table": table, "dataset_id": table,
                "as_of": seg.as_of,
                **jsonable(row.to_dict())}

    # -- models: CLV, uplift, allocation ---------------------------------------------

    async def customer_clv(self, customer_id: str, horizon_weeks: float = 52.0,
                           discount_rate: float = 0.10, owner: str | None = None,
                           dataset_id: str | None = None) -> dict[str, Any]:
        """CLV of a customer from the CLV model of ``dataset_id`` (default: the caller's
        latest import, else the reference set); ``warnings`` lists what is wrong with the
        fit (a degenerate BG/NBD answers from the NBD, without P(alive))."""
        dataset = await self.dataset_for(owner, dataset_id, "clv")
        loaded = await self.models.get("clv", dataset)
        table = await asyncio.to_thread(
            loaded.model.predict, [customer_id], horizon_weeks, discount_rate)
        row = table.iloc[0].to_dict()
        if row.get("p_alive") != row.get("p_alive"):  # NaN: not estimated
            row["p_alive"] = None
        model = loaded.model
        return {"customer_id": customer_id, "dataset_id": dataset,
                "horizon_weeks": horizon_weeks, "discount_rate": discount_rate,
                **jsonable(row),
                "model": {"name": loaded.version.name, "version": loaded.version.version},
                "counting_model": getattr(model, "counting_model_name", "bgnbd"),
                "warnings": list(getattr(model, "warnings", []))}

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

    async def _uplift_model(self, dataset_id: str | None) -> Any:
        dataset = await self.dataset_for(None, dataset_id, "uplift")
        self._transactions_only("uplift", dataset, "a randomised experiment (treatment, "
                                "outcome)")
        return await self.models.get("uplift", dataset)

    async def uplift_scores(self, customers: list[dict[str, Any]],
                            dataset_id: str | None = None) -> dict[str, Any]:
        """Predicted uplift (treated minus control response probability) per customer."""
        loaded = await self._uplift_model(dataset_id)
        frame, features = self._experiment_frame(customers)
        uplift = await asyncio.to_thread(loaded.model.predict_uplift, features)
        scores = [{"customer_id": str(c), "uplift": float(u)}
                  for c, u in zip(frame["customer_id"], uplift, strict=True)]
        return {"model": {"name": loaded.version.name, "version": loaded.version.version,
                          "kind": loaded.model.name}, "scores": scores}

    async def targeting(self, customers: list[dict[str, Any]], budget: float,
                        cost_per_contact: float,
                        value_per_outcome: float | None = None,
                        dataset_id: str | None = None) -> dict[str, Any]:
        """Whom to contact for `budget`: highest positive uplift first."""
        loaded = await self._uplift_model(dataset_id)
        frame, features = self._experiment_frame(customers)
        chosen = await asyncio.to_thread(targeting_list, loaded.model, frame, features, budget,
                                         cost_per_contact, value_per_outcome)
        return {"model": {"name": loaded.version.name, "version": loaded.version.version},
                "budget": budget, "cost_per_contact": cost_per_contact,
                "contacts": len(chosen), "spent": float(len(chosen) * cost_per_contact),
                "targets": _records(chosen)}

    async def allocate(self, total: float | None, current: dict[str, float] | None = None,
                       bounds: dict[str, tuple[float, float]] | None = None,
                       dataset_id: str | None = None) -> dict[str, Any]:
        """Weekly budget over the media channels maximising the fitted response."""
        dataset = await self.dataset_for(None, dataset_id, "mmm")
        self._transactions_only("media-mix", dataset, "weekly media spend and sales series")
        loaded = await self.models.get("mmm", dataset)
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

    async def report_table(self, owner: str, table: str | None) -> str:
        """The table a report of ``owner`` reads: ``table``, else their latest import, else
        ``transactions``; 404 naming the import actions when nothing was imported there."""
        chosen = validate_identifier(table or await self.latest_dataset(owner)
                                     or "transactions")
        if not await table_exists(self.stores.warehouse, chosen):
            raise UnknownTableError(
                f"no transactions imported into {chosen!r} yet: import yours (POST "
                "/api/v1/analytics/imports) or the sample (POST /api/v1/analytics/imports/"
                "sample) first")
        return chosen

    async def request_report(self, owner: str, table: str | None, options: dict[str, Any]
                             ) -> str:
        """Queue a report job on :meth:`report_table` (options checked first; within the
        job limits); returns the job id."""
        report_config(options)
        table = await self.report_table(owner, table)
        request = ReportRequest.new(owner, table, options)
        job = await self.job_system.submit(REPORT_JOB, owner, {"table": table, **options},
                                           request.payload())
        return job.id

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

    async def create_schedule(self, owner: str, name: str, table: str | None,
                              options: dict[str, Any], interval_s: float,
                              first_run_at: float | None = None) -> dict[str, Any]:
        report_config(options)
        table = await self.report_table(owner, table)
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

    async def start_training(self, owner: str, quick: bool = False, seed: int = 0,
                             dataset_id: str | None = None) -> dict[str, Any]:
        """Queue a training job (request checked first; within the job limits): the
        models of ``dataset_id`` (default: the caller's latest import, else the reference
        sets) fitted off this process (:mod:`deployments.analytics.training`)."""
        dataset = await self.dataset_for(owner, dataset_id, "clv")
        payload = await self.training_jobs.payload(quick, seed, dataset)
        job = await self.job_system.submit(
            TRAINING_JOB, owner, {"quick": quick, "seed": seed, "dataset_id": dataset}, payload)
        return {"job_id": job.id, "status": job.status.value, "dataset_id": dataset}
