"""`OcrBlobs` (migration 0040) on every Database backend: binary bytes round-trip
unchanged, a second put replaces the first, deletes by name or per document."""

from __future__ import annotations

import os
from typing import Any

from storage.records.ocr import OcrBlobs

DOC, OTHER = "a" * 32, "b" * 32


async def test_blobs_round_trip_replace_and_delete(database: Any) -> None:
    blobs = OcrBlobs(database)
    payload = bytes(range(256)) * 64 + b"\x00" + os.urandom(4096)  # NULs, high bytes
    assert await blobs.get(DOC, "upload") is None
    await blobs.put(DOC, "upload", payload)
    await blobs.put(DOC, "page-0001.png", b"\x89PNG first")
    await blobs.put(OTHER, "upload", b"other")
    got = await blobs.get(DOC, "upload")
    assert isinstance(got, bytes) and got == payload

    await blobs.put(DOC, "page-0001.png", b"\x89PNG second")  # written again: replaced
    assert await blobs.get(DOC, "page-0001.png") == b"\x89PNG second"
    assert await blobs.names(DOC) == {"page-0001.png": 11, "upload": len(payload)}

    assert await blobs.delete(DOC, "upload") == 1
    assert await blobs.delete(DOC, "upload") == 0
    assert await blobs.get(DOC, "upload") is None
    assert await blobs.delete(DOC) == 1
    assert await blobs.names(DOC) == {}
    assert await blobs.get(OTHER, "upload") == b"other"
