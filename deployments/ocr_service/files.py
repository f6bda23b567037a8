"""Files kept per uploaded document under ``data_dir/ocr/<document id>/``: each page as
decoded/rendered (``page-0001.png``; word boxes are in these pixels) and the searchable
PDF. Blocking I/O: call from a worker thread."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

_DOC_ID = re.compile(r"^[0-9a-f]{32}$")


class DocumentFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, doc_id: str) -> Path:
        if not _DOC_ID.match(doc_id):
            raise ValueError(f"invalid document id {doc_id!r}")
        return self.root / doc_id

    def page_path(self, doc_id: str, page: int) -> Path:
        return self.folder(doc_id) / f"page-{page:04d}.png"

    def pdf_path(self, doc_id: str) -> Path:
        return self.folder(doc_id) / "searchable.pdf"

    def save_page(self, doc_id: str, page: int, image: np.ndarray, dpi: float | None) -> None:
        kwargs: dict[str, object] = {"compress_level": 3}
        if dpi:
            kwargs["dpi"] = (round(dpi), round(dpi))
        self._atomic(self.page_path(doc_id, page),
                     lambda tmp: Image.fromarray(image).save(tmp, format="PNG", **kwargs))

    def save_pdf(self, doc_id: str, data: bytes) -> None:
        self._atomic(self.pdf_path(doc_id), lambda tmp: tmp.write_bytes(data))

    @staticmethod
    def _atomic(path: Path, write: Callable[[Path], object]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{uuid.uuid4().hex}.tmp")
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
