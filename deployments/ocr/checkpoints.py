"""Finished pages of a document job, kept until the job ends, so that a job handed back by
a stopping replica or taken over from a dead one does not OCR them again.

Per finished page, in the shared blobs (:mod:`deployments.ocr.files`), after its
page image: ``done-0001.pdf`` (Tesseract's one-page searchable PDF, when the document
asks for one), then ``done-0001.json`` (the page's result and how its PDF part is made).
The JSON is written last and a page is resumed only when it is there, so a page cut off
between the two writes is simply done again. The job's end (:meth:`clear`, in every final
state) deletes them.
"""

from __future__ import annotations

import json
from typing import Any

from actors.ocr.models import PageResult, Word
from actors.ocr.pdf_output import OriginalPage, PdfPart
from deployments.ocr.files import DocumentFiles

PREFIX = "done-"


def result_name(page: int) -> str:
    return f"{PREFIX}{page:04d}.json"


def part_name(page: int) -> str:
    return f"{PREFIX}{page:04d}.pdf"


def page_from_dict(data: dict[str, Any]) -> PageResult:
    """The inverse of ``PageResult.to_dict()``."""
    values = dict(data)
    values["words"] = [Word(**w) for w in values.get("words", [])]
    return PageResult(**values)


class PageCheckpoints:
    def __init__(self, files: DocumentFiles, doc_id: str) -> None:
        self.files = files
        self.doc_id = doc_id

    async def save(self, page: int, result: PageResult, part: PdfPart | None) -> None:
        """Record page ``page`` (1-based) as finished."""
        if isinstance(part, bytes):
            await self.files.save(self.doc_id, part_name(page), part)
            kind: str | None = "pdf"
        else:
            kind = "original" if isinstance(part, OriginalPage) else None
        record = {"result": result.to_dict(), "part": kind}
        await self.files.save(self.doc_id, result_name(page),
                              json.dumps(record, ensure_ascii=False).encode())

    async def load(self, page: int, data: bytes) -> tuple[PageResult, PdfPart | None] | None:
        """Page ``page`` as an earlier delivery finished it (``data``: the document, for a
        PDF part that is a page of it), or None when it has to be done."""
        raw = await self.files.read(self.doc_id, result_name(page))
        if raw is None:
            return None
        record = json.loads(raw)
        part: PdfPart | None = None
        if record["part"] == "original":
            part = OriginalPage(data, page - 1)
        elif record["part"] == "pdf":
            part = await self.files.read(self.doc_id, part_name(page))
            if part is None:
                return None
        return page_from_dict(record["result"]), part

    async def clear(self) -> int:
        """Delete every checkpoint of the document; returns how many blobs went."""
        names = await self.files.blobs.names(self.doc_id)
        removed = 0
        for name in names:
            if name.startswith(PREFIX):
                removed += await self.files.delete(self.doc_id, name)
        return removed
