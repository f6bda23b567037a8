"""Marketing analytics: transaction imports (async jobs), segments, CLV, uplift
scoring and targeting, budget allocation, the served model versions and training.

Roles: writes and customer-level answers need ANALYSTS (admin, analyst); the aggregate
segment overview and the model list are open to ANYONE signed in."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from pydantic import BaseModel, Field, model_validator

from deployments.ingress.auth import Principal
from deployments.ingress.deps import Context, require
from deployments.ingress.errors import ApiError
from deployments.ingress.limits import MAX_AMOUNT, MAX_SEED, DateText
from deployments.ingress.roles import ANALYSTS, ANYONE
from storage.records.jobs import job_channel

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
Analyst = Annotated[Principal, Depends(require(ANALYSTS))]
Anyone = Annotated[Principal, Depends(require(ANYONE))]

TABLE = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
DATASET = Query(None, pattern=TABLE, description=(
    "the dataset to answer from: an import's dataset_id (its table) or 'reference' (the "
    "benchmark sets); default: your latest import, else the reference set"))
CUSTOMER_ID = Path(min_length=1, max_length=128)
FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
MEDIA_TYPES = {"text/csv": "csv", "application/csv": "csv", "text/plain": "csv",
               "application/vnd.apache.parquet": "parquet", "application/x-parquet": "parquet"}


def upload_format(filename: str, content_type: str | None) -> str:
    """csv or parquet, from the file name, else its media type; 415 otherwise."""
    by_name = FORMATS.get(PurePath(filename).suffix.lower())
    by_type = MEDIA_TYPES.get((content_type or "").split(";")[0].strip().lower())
    fmt = by_name or by_type
    if fmt is None:
        raise ApiError(415, f"unsupported file type for {filename!r} ({content_type}); "
                            "upload CSV (.csv) or Parquet (.parquet)")
    return fmt


@router.post("/imports", status_code=202)
async def import_transactions(
    ctx: Context, principal: Analyst,
    file: Annotated[UploadFile, File(description="transactions as CSV or Parquet")],
    table: Annotated[str, Form(pattern=TABLE)] = "transactions",
) -> dict[str, Any]:
    """Start an import job: 202 with the job id and the ``dataset_id`` the import
    feeds (train on it with ``POST /training``); progress on the EventBus channel
    ``jobs.<job id>`` and at ``GET /api/v1/jobs/{id}``, whose result is the
    ImportReport (rows read/imported, rejected rows per reason)."""
    name = PurePath(file.filename or "upload").name
    fmt = upload_format(name, file.content_type)
    data = await file.read()
    if not data:
        raise ApiError(400, f"{name} is empty")
    started = await ctx.analytics.start_import(principal.id, data, name, table, fmt)
    job_id = started.pop("job_id")
    return {"job_id": job_id, "status": started.pop("status"), "table": table,
            "status_url": f"/api/v1/jobs/{job_id}", "events_channel": job_channel(job_id),
            **started}


class SampleImport(BaseModel):
    table: str | None = Field(None, pattern=TABLE, description=(
        "the dataset to import into; default sample_online_retail (real) or "
        "synthetic_sample"))


@router.post("/imports/sample", status_code=202)
async def import_sample(ctx: Context, principal: Analyst,
                        body: SampleImport | None = None) -> dict[str, Any]:
    """Import sample transactions to try the analytics without data of your own: the real
    UCI Online Retail invoices when the shared data folder is there, else SYNTHETIC ones
    (``synthetic`` and ``source`` say which). The same import job as an upload: 202 with
    the job id and the ``dataset_id``."""
    table = (body or SampleImport()).table
    started = await ctx.analytics.start_sample_import(principal.id, table)
    job_id = started.pop("job_id")
    return {"job_id": job_id, "status": started.pop("status"), "table": table,
            "status_url": f"/api/v1/jobs/{job_id}", "events_channel": job_channel(job_id),
            **started}


@router.get("/segments")
async def segments(
    ctx: Context, principal: Anyone, table: str | None = Query(None, pattern=TABLE),
    as_of: Annotated[DateText | None, Query()] = None, dataset_id: str | None = DATASET,
) -> dict[str, Any]:
    """RFM segments and KMeans clusters of the customers of a dataset (size, share,
    means): ``dataset_id`` (or ``table``), default your latest import."""
    return await ctx.analytics.segments(table, as_of, principal.id, dataset_id)


@router.get("/customers/{customer_id}/segment")
async def customer_segment(
    ctx: Context, principal: Analyst, customer_id: Annotated[str, CUSTOMER_ID],
    table: str | None = Query(None, pattern=TABLE),
    as_of: Annotated[DateText | None, Query()] = None, dataset_id: str | None = DATASET,
) -> dict[str, Any]:
    return await ctx.analytics.customer_segment(customer_id, table, as_of, principal.id,
                                                dataset_id)


@router.get("/customers/{customer_id}/clv")
async def customer_clv(
    ctx: Context, principal: Analyst, customer_id: Annotated[str, CUSTOMER_ID],
    horizon_weeks: float = Query(52.0, allow_inf_nan=False, gt=0, le=520),
    discount_rate: float = Query(0.10, allow_inf_nan=False, ge=0, lt=10),
    dataset_id: str | None = DATASET,
) -> dict[str, Any]:
    """Expected purchases, p(alive) and discounted CLV from the CLV model of the dataset
    (409 naming the training action when it has none); ``warnings`` says when the fit is
    degenerate (then P(alive) is null and the NBD answers)."""
    return await ctx.analytics.customer_clv(customer_id, horizon_weeks, discount_rate,
                                            principal.id, dataset_id)


class UpliftCustomer(BaseModel):
    """One customer in the layout of the uplift model's features (Hillstrom)."""

    customer_id: str = Field(min_length=1, max_length=128)
    recency: int = Field(ge=0, le=1000, description="months since the last purchase")
    history: float = Field(allow_inf_nan=False, ge=0, le=MAX_AMOUNT,
                           description="spend in the past year")
    mens: Literal[0, 1]
    womens: Literal[0, 1]
    zip_code: Literal["Urban", "Surburban", "Rural"]
    newbie: Literal[0, 1]
    channel: Literal["Phone", "Web", "Multichannel"]


class UpliftRequest(BaseModel):
    customers: list[UpliftCustomer] = Field(min_length=1, max_length=50_000)


class TargetingRequest(UpliftRequest):
    budget: float = Field(allow_inf_nan=False, ge=0, le=MAX_AMOUNT)
    cost_per_contact: float = Field(allow_inf_nan=False, gt=0, le=MAX_AMOUNT)
    value_per_outcome: float | None = Field(None, allow_inf_nan=False, gt=0, le=MAX_AMOUNT)


@router.post("/uplift/scores")
async def uplift_scores(ctx: Context, _: Analyst, body: UpliftRequest,
                        dataset_id: str | None = DATASET) -> dict[str, Any]:
    customers = [c.model_dump() for c in body.customers]
    return await ctx.analytics.uplift_scores(customers, dataset_id)


@router.post("/uplift/targeting")
async def uplift_targeting(ctx: Context, _: Analyst, body: TargetingRequest,
                           dataset_id: str | None = DATASET) -> dict[str, Any]:
    """Whom to contact for the budget: highest positive predicted uplift first."""
    customers = [c.model_dump() for c in body.customers]
    return await ctx.analytics.targeting(customers, body.budget, body.cost_per_contact,
                                         body.value_per_outcome, dataset_id)


class Bounds(BaseModel):
    min: float = Field(0.0, allow_inf_nan=False, ge=0, le=MAX_AMOUNT)
    max: float = Field(allow_inf_nan=False, ge=0, le=MAX_AMOUNT)


class AllocationRequest(BaseModel):
    total: float | None = Field(None, allow_inf_nan=False, ge=0, le=MAX_AMOUNT,
                                description="weekly total; default: current sum")
    current: dict[str, Annotated[float, Field(allow_inf_nan=False, ge=0,
                                              le=MAX_AMOUNT)]] | None = Field(
        None, description="current weekly spend per channel; default: the model's recent")
    bounds: dict[str, Bounds] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> AllocationRequest:
        bad = sorted(c for c, b in self.bounds.items() if b.min > b.max)
        if bad:
            raise ValueError(f"bounds need min <= max; violated for {bad}")
        return self


@router.post("/allocation")
async def allocation(ctx: Context, _: Analyst, body: AllocationRequest,
                     dataset_id: str | None = DATASET) -> dict[str, Any]:
    """The weekly media budget split maximising the fitted response, within bounds;
    infeasible bounds -> 422 with the reason."""
    bounds = {c: (b.min, b.max) for c, b in body.bounds.items()} or None
    return await ctx.analytics.allocate(body.total, body.current, bounds, dataset_id)


@router.get("/models")
async def models(ctx: Context, _: Anyone) -> dict[str, Any]:
    """Per model role: the registry name, the served version and recent versions."""
    return await ctx.analytics.model_versions()


class TrainingRequest(BaseModel):
    quick: bool = False
    seed: int = Field(0, ge=0, le=MAX_SEED)
    dataset_id: str | None = Field(None, pattern=TABLE, description=(
        "an import's dataset_id (CLV, segments, propensity fitted on it) or 'reference' "
        "(every model, on the benchmark sets); default: your latest import, else reference"))


@router.post("/training", status_code=202)
async def training(ctx: Context, principal: Analyst, body: TrainingRequest) -> dict[str, Any]:
    """Fit the models of a dataset as Ray tasks and register the new versions (job)."""
    started = await ctx.analytics.start_training(principal.id, body.quick, body.seed,
                                                 body.dataset_id)
    job_id = started["job_id"]
    return {"job_id": job_id, "status": started["status"],
            "dataset_id": started["dataset_id"],
            "status_url": f"/api/v1/jobs/{job_id}", "events_channel": job_channel(job_id)}
