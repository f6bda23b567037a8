"""What the routes call on the OCR service (:class:`deployments.ocr.service.OcrService`)."""

from __future__ import annotations

from typing import Any

from deployments.ingress.services import ServiceClient
from deployments.ocr.errors import OCR_ERRORS


class OcrClient(ServiceClient):
    name = "ocr"
    errors = OCR_ERRORS

    async def submit(self, owner: str, filename: str, data: bytes, requested: dict[str, Any],
                     force_async: bool = False) -> dict[str, Any]:
        return dict(await self._call("submit", owner, filename, data, requested, force_async))

    async def list_documents(self, viewer: str | None, limit: int = 50) -> list[dict[str, Any]]:
        return list(await self._call("list_documents", viewer, limit))

    async def document(self, doc_id: str, viewer: str | None) -> dict[str, Any]:
        return dict(await self._call("document", doc_id, viewer))

    async def page_image(self, doc_id: str, page: int, viewer: str | None) -> bytes:
        return bytes(await self._call("page_image", doc_id, page, viewer))

    async def searchable_pdf(self, doc_id: str, viewer: str | None) -> bytes:
        return bytes(await self._call("searchable_pdf", doc_id, viewer))
