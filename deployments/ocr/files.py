"""The bytes kept per uploaded document, in the shared Database (``ocr_blobs``, through
:class:`storage.records.ocr.OcrBlobs`) rather than on one replica's disk, so that with
several replicas or nodes any of them serves any document:

- ``upload``: the uploaded file of an async document, written before its job is queued
  and read by whichever replica takes the job (see :mod:`deployments.ocr.jobs`
  for when it is deleted);
- ``page-0001.png``, ...: each page as decoded/rendered (word boxes are in these pixels);
- ``searchable.pdf``: the searchable PDF, when requested.

Documents stored before the blobs existed have their files under
``data_dir/ocr/<document id>/``; :meth:`DocumentFiles.read` falls back to them.
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import numpy as np
from PIL import Image

from storage.records.ocr import OcrBlobs

_DOC_ID = re.compile(r"^[0-9a-f]{32}$")
UPLOAD = "upload"
PDF = "searchable.pdf"


def page_name(page: int) -> str:
    return f"page-{page:04d}.png"


def encode_png(image: np.ndarray, dpi: float | None) -> bytes:
    """A page image as PNG (with its resolution when known). CPU-bound: call it from a
    worker thread."""
    kwargs: dict[str, object] = {"compress_level": 3}
    if dpi:
        kwargs["dpi"] = (round(dpi), round(dpi))
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", **kwargs)
    return out.getvalue()


class DocumentFiles:
    def __init__(self, blobs: OcrBlobs, legacy_root: Path | None = None) -> None:
        self.blobs = blobs
        self.legacy_root = legacy_root

    @staticmethod
    def check_id(doc_id: str) -> str:
        if not _DOC_ID.match(doc_id):
            raise ValueError(f"invalid document id {doc_id!r}")
        return doc_id

    async def save(self, doc_id: str, name: str, data: bytes) -> None:
        await self.blobs.put(self.check_id(doc_id), name, data)

    async def read(self, doc_id: str, name: str) -> bytes | None:
        """The blob, or the legacy local file of that name, or None."""
        data = await self.blobs.get(self.check_id(doc_id), name)
        if data is None and self.legacy_root is not None:
            data = await asyncio.to_thread(_read_file, self.legacy_root / doc_id / name)
        return data

    async def delete(self, doc_id: str, name: str) -> int:
        return await self.blobs.delete(self.check_id(doc_id), name)


def _read_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
