"""Uploaded OCR documents (Database kind, migrations 0030, 0040 and 0050).

A row is written when the upload is accepted (status ``processing``) and completed once
its pages are stored in the Warehouse (``succeeded``) or the OCR failed (``failed``).
A synchronous upload (no job) holds a lease (``lease_until``) that the replica OCRing
it renews; :meth:`OcrDocuments.fail_expired` fails the ones whose replica stopped.
The bytes of a document that every replica must reach (an async upload until its job
ends, page images, the searchable PDF) are rows of ``ocr_blobs`` (:class:`OcrBlobs`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from storage.database.base import Queries, Row
from storage.records.blobs import BlobTable

DOCUMENT_JOB = "ocr.document"
"""Job kind of an uploaded document processed in the background."""
BATCH_JOB = "ocr-batch"
"""Job kind of a batch run (`armillary ocr batch`)."""


class DocumentStatus(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    owner: str
    filename: str
    content_hash: str
    bytes: int
    doc_type: str
    pages: int
    status: DocumentStatus
    job_id: str | None
    options: dict[str, Any]
    mean_confidence: float | None
    fields: dict[str, Any] | None
    timings: dict[str, Any] | None
    error: str | None
    has_pdf: bool
    page_images: bool
    created_at: float
    updated_at: float
    lease_until: float | None = None
    """Until when the replica OCRing a synchronous upload holds it (see `renew`)."""

    @classmethod
    def from_row(cls, row: Row) -> DocumentRecord:
        def loads(value: str | None) -> Any:
            return None if value is None else json.loads(value)

        return cls(**{
            **row, "status": DocumentStatus(row["status"]), "options": json.loads(row["options"]),
            "fields": loads(row["fields"]), "timings": loads(row["timings"]),
            "has_pdf": bool(row["has_pdf"]), "page_images": bool(row["page_images"]),
        })

    def public(self) -> dict[str, Any]:
        out = {**self.__dict__, "status": self.status.value}
        del out["lease_until"]
        base = f"/api/v1/ocr/documents/{self.id}"
        out["url"] = base
        out["pdf_url"] = f"{base}/searchable.pdf" if self.has_pdf else None
        out["page_image_urls"] = ([f"{base}/pages/{n}.png" for n in range(1, self.pages + 1)]
                                  if self.page_images else [])
        return out


class OcrDocuments:
    def __init__(self, db: Queries) -> None:
        self._db = db

    async def create(self, doc_id: str, owner: str, filename: str, content_hash: str,
                     size: int, doc_type: str, pages: int, options: dict[str, Any],
                     job_id: str | None = None, lease_s: float | None = None) -> None:
        """A ``processing`` row; ``lease_s``: leased that long (a synchronous upload)."""
        now = time.time()
        await self._db.execute(
            "INSERT INTO ocr_documents (id, owner, filename, content_hash, bytes, doc_type,"
            " pages, status, job_id, options, created_at, updated_at, lease_until)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
            doc_id, owner, filename, content_hash, size, doc_type, pages,
            DocumentStatus.PROCESSING.value, job_id, json.dumps(options), now,
            None if lease_s is None else now + lease_s,
        )

    async def renew(self, doc_id: str, lease_s: float) -> bool:
        """Extend the lease of a ``processing`` document to ``lease_s`` from now; False
        when it is not processing any more (finished, or failed by `fail_expired`)."""
        return bool(await self._db.execute(
            "UPDATE ocr_documents SET lease_until = $3 WHERE id = $1 AND status = $2",
            doc_id, DocumentStatus.PROCESSING.value, time.time() + lease_s,
        ))

    async def fail_expired(self, error: str) -> list[str]:
        """Fail every ``processing`` document whose lease ran out (the replica OCRing
        it stopped renewing it) with ``error``; returns their ids."""
        now = time.time()
        rows = await self._db.fetch(
            "UPDATE ocr_documents SET status = $1, error = $2, lease_until = NULL,"
            " updated_at = $3 WHERE status = $4 AND lease_until < $3 RETURNING id",
            DocumentStatus.FAILED.value, error, now, DocumentStatus.PROCESSING.value,
        )
        return [str(r["id"]) for r in rows]

    async def succeed(self, doc_id: str, pages: int, mean_confidence: float,
                      fields: dict[str, Any], timings: dict[str, Any], has_pdf: bool,
                      page_images: bool) -> None:
        await self._db.execute(
            "UPDATE ocr_documents SET status = $2, pages = $3, mean_confidence = $4,"
            " fields = $5, timings = $6, has_pdf = $7, page_images = $8, updated_at = $9,"
            " error = NULL, lease_until = NULL WHERE id = $1",
            doc_id, DocumentStatus.SUCCEEDED.value, pages, mean_confidence,
            json.dumps(fields, ensure_ascii=False), json.dumps(timings), int(has_pdf),
            int(page_images), time.time(),
        )

    async def fail(self, doc_id: str, error: str) -> None:
        await self._db.execute(
            "UPDATE ocr_documents SET status = $2, error = $3, updated_at = $4,"
            " lease_until = NULL WHERE id = $1",
            doc_id, DocumentStatus.FAILED.value, error, time.time(),
        )

    async def get(self, doc_id: str) -> DocumentRecord | None:
        row = await self._db.fetchrow("SELECT * FROM ocr_documents WHERE id = $1", doc_id)
        return None if row is None else DocumentRecord.from_row(row)

    async def list(self, owner: str | None = None, limit: int = 50) -> list[DocumentRecord]:
        """Newest first; ``owner=None``: everyone's."""
        rows = await self._db.fetch(
            "SELECT * FROM ocr_documents WHERE (CAST($1 AS TEXT) IS NULL OR owner = $1)"
            " ORDER BY created_at DESC LIMIT $2", owner, limit,
        )
        return [DocumentRecord.from_row(r) for r in rows]


class OcrBlobs(BlobTable):
    """Named byte strings per document (``ocr_blobs``): an async upload until its job ends,
    page images, the searchable PDF."""

    def __init__(self, db: Queries) -> None:
        super().__init__(db, "ocr_blobs", "document_id")
