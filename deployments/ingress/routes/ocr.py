"""Document OCR: upload a document (PNG, JPEG, TIFF, PDF) and get its text, per-page words
with boxes and confidences, extracted fields and timings; stored results by id; page images
and the searchable PDF; batch OCR jobs.

Roles: ANALYSTS (admin, analyst). A document is visible to its owner and to admins.
Bad input is a 4xx with the reason: 400 empty/corrupt, 413 over a limit (pages, pixels,
bytes), 415 not an image or PDF, 422 invalid options, encrypted PDF, PDF with a text layer
and no ``text_layer`` mode, or a page over the time limit."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from deployments.ingress.auth import Principal
from deployments.ingress.deps import Context, require
from deployments.ingress.errors import ApiError
from deployments.ingress.limits import file_response
from deployments.ingress.roles import ANALYSTS, Role
from storage.records.ocr import BATCH_JOB

router = APIRouter(prefix="/api/v1/ocr", tags=["ocr"])
Analyst = Annotated[Principal, Depends(require(ANALYSTS))]
DOCUMENT_ID = Path(pattern=r"^[0-9a-f]{32}$")


def viewer(principal: Principal) -> str | None:
    """Whose documents the caller may see: their own; None (everyone's) for admins."""
    return None if principal.role is Role.ADMIN else principal.id


@router.post("/documents", response_model=None)
async def upload_document(
    ctx: Context, principal: Analyst,
    file: Annotated[UploadFile, File(description="PNG, JPEG, TIFF or PDF")],
    lang: Annotated[str, Form(max_length=64, description="Tesseract languages, e.g. eng+deu")]
    = "eng",
    psm: Annotated[int, Form(ge=0, le=13, description="page segmentation mode")] = 3,
    dpi: Annotated[int | None, Form(ge=36, le=1200, description=(
        "PDF render resolution of every page (default: scanned pages at their images' "
        "resolution, 200-400 dpi; others at 300)"))] = None,
    text_layer: Annotated[Literal["error", "skip", "redo", "force"], Form(
        description="PDF pages that already have text: refuse (error), keep (skip), "
                    "re-OCR invisible text (redo), OCR anyway (force)")] = "error",
    strategy: Annotated[Literal["single", "auto"], Form()] = "auto",
    pdf: Annotated[bool, Form(description="also produce a searchable PDF")] = False,
    processors: Annotated[str | None, Form(
        max_length=200, description="comma-separated processors (default: all that apply)")]
    = None,
    run_async: Annotated[bool, Query(alias="async", description="always run as a job")]
    = False,
) -> dict[str, Any] | JSONResponse:
    """OCR a document. Small documents: 200 with text, pages (words with boxes and
    confidence), fields, timings, stored under the returned ``id``. Documents with more
    pages than ``ocr_sync_max_pages`` or ``?async=true``: 202 with ``job_id`` and
    ``document_id``; progress at ``GET /api/v1/jobs/{job_id}`` and on the EventBus channel
    ``jobs.<job_id>``."""
    name = PurePath(file.filename or "upload").name
    data = await file.read()
    if not data:
        raise ApiError(400, f"{name} is empty")
    options: dict[str, Any] = {"lang": lang, "psm": psm, "dpi": dpi, "text_layer": text_layer,
                               "strategy": strategy, "pdf": pdf}
    if processors is not None:
        options["processors"] = [p.strip() for p in processors.split(",") if p.strip()]
    result = await ctx.ocr.submit(principal.id, name, data, options, run_async)
    if result.pop("async"):
        return JSONResponse(result, status_code=202)
    return result


@router.get("/documents")
async def list_documents(
    ctx: Context, principal: Analyst, limit: int = Query(50, ge=1, le=500)
) -> list[dict[str, Any]]:
    """The caller's documents (admins: everyone's), newest first, without text."""
    return await ctx.ocr.list_documents(viewer(principal), limit)


@router.get("/documents/{document_id}")
async def get_document(
    ctx: Context, principal: Analyst, document_id: Annotated[str, DOCUMENT_ID]
) -> dict[str, Any]:
    """The stored result (status ``processing`` while a job still runs)."""
    return await ctx.ocr.document(document_id, viewer(principal))


@router.get("/documents/{document_id}/pages/{page}.png",
            **file_response("image/png", "The page image"))
async def page_image(
    ctx: Context, principal: Analyst, document_id: Annotated[str, DOCUMENT_ID],
    page: Annotated[int, Path(ge=1, le=100_000)],
) -> Response:
    """Page ``page`` as decoded/rendered for OCR; word boxes are in its pixels."""
    body = await ctx.ocr.page_image(document_id, page, viewer(principal))
    return Response(body, media_type="image/png", headers={"X-Content-Type-Options": "nosniff"})


@router.get("/documents/{document_id}/searchable.pdf",
            **file_response("application/pdf", "The searchable PDF"))
async def searchable_pdf(
    ctx: Context, principal: Analyst, document_id: Annotated[str, DOCUMENT_ID]
) -> Response:
    """The searchable PDF (page images with an invisible text layer), if requested."""
    body = await ctx.ocr.searchable_pdf(document_id, viewer(principal))
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{document_id}.pdf"'})


@router.get("/batches")
async def batches(
    ctx: Context, principal: Analyst, limit: int = Query(50, ge=1, le=500)
) -> list[dict[str, Any]]:
    """Batch OCR jobs (``armillary ocr batch``), newest first: status, pages done/total,
    and the counts when finished. Admins see every batch, analysts their own."""
    who = viewer(principal)
    return [j.public() for j in await ctx.jobs.list(BATCH_JOB, limit)
            if who is None or j.owner == who]
