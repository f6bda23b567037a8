"""Two `OcrService` replicas on the same stores for the durable-job tests
(test_ocr_durable.py, test_ocr_leases.py): "A", which the ingress app calls, and "B", each
with its own data folder, on real PostgreSQL + Redis and on the embedded SQLite file +
in-process bus (the ``replicas`` fixture)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from deployments.ocr.document import recognise_page
from deployments.ocr.service import OcrService
from storage.errors import StoreUnavailableError
from storage.registry import open_backend
from storage.stores import Stores
from tests.conftest import postgres_url, redis_url
from tests.deployments.conftest import Api, make_stores
from tests.support import missing

OCR = "/api/v1/ocr"
# Long enough that a heartbeat (every third of it) is never late on a loaded CI machine.
LEASE_S = 3.0


@dataclass
class Replicas:
    api: Api
    a: OcrService
    stores_b: Stores
    tmp: Path
    settings: dict[str, Any]
    analyst_id: str = ""
    started: list[OcrService] = field(default_factory=list)

    def b(self, **overrides: Any) -> OcrService:
        """Replica B: the same stores as A through connections of its own (one shared
        in-process bus for the embedded stores), and its own data folder."""
        settings = Settings(environment="test", data_dir=self.tmp / "b",
                            **{**self.settings, **overrides})
        service = OcrService(settings, self.stores_b)
        self.started.append(service)
        return service

    def upload(self, data: bytes, name: str = "doc", params: dict[str, Any] | None = None,
               **form: Any) -> Any:
        return self.api.client.post(f"{OCR}/documents", files={"file": (name, data)},
                                    data={k: str(v) for k, v in form.items()},
                                    params=params, headers=self.api.bearer("analyst"))

    def get(self, path: str) -> Any:
        return self.api.client.get(path, headers=self.api.bearer("analyst"))

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/api/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait(self, what: Callable[[], bool], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not what():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)

    def start(self, service: OcrService) -> None:
        async def start() -> None:
            assert service.start_worker()

        self.api.run(start)

    def page_rows(self, doc_id: str) -> tuple[int, float]:
        """Rows stored for the document (no deduplication) and the newest insert time."""
        async def rows() -> tuple[int, float]:
            result = await self.a.stores.warehouse.query(
                f"SELECT count(), max(created_at) FROM {self.a.pages_table}"
                " WHERE document_id = {id:String}", {"id": doc_id})
            return int(result.rows[0][0]), float(result.rows[0][1] or 0.0)

        return tuple(self.api.run(rows))  # type: ignore[return-value]

    def blob_names(self, doc_id: str) -> dict[str, int]:
        return dict(self.api.run(self.a.blobs.names, doc_id))


def stall_at(service: OcrService, done: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's job hangs after reporting page `done` (until it is stopped)."""
    step = service.progress.step

    async def stalling(job_id: str, stage: str, n: int, total: int | None) -> None:
        await step(job_id, stage, n, total)
        if n == done:
            await asyncio.Event().wait()

    monkeypatch.setattr(service.progress, "step", stalling)


def count_recognised(service: OcrService, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pages (1-based) the service recognises from now on, in order."""
    pages: list[int] = []
    run = service._run

    async def counting(fn: Any, *args: Any) -> Any:
        if fn is recognise_page:
            pages.append(args[1].index + 1)
        return await run(fn, *args)

    monkeypatch.setattr(service, "_run", counting)
    return pages


def shared_stores(kind: str, tmp: Path, warehouse: Any) -> tuple[Stores, Stores]:
    if kind == "embedded":
        a = make_stores(tmp, warehouse)
        b = Stores(database=open_backend("database", f"sqlite:///{tmp}/db.sqlite"),
                   cache=a.cache, eventbus=a.eventbus, timeseries=a.timeseries,
                   warehouse=warehouse)
        return a, b
    sep = "&" if "?" in postgres_url() else "?"
    db_url = f"{postgres_url()}{sep}schema=ocr_{uuid.uuid4().hex[:10]}"
    redis = f"{redis_url()}?prefix=ocr_{uuid.uuid4().hex[:10]}:"

    def build() -> Stores:
        return Stores(
            database=open_backend("database", db_url), cache=open_backend("cache", redis),
            eventbus=open_backend("eventbus", redis),
            timeseries=open_backend("timeseries", f"warehouse://ts_{uuid.uuid4().hex[:10]}",
                                    warehouse=warehouse),
            warehouse=warehouse)

    return build(), build()


def require_servers() -> None:
    async def reachable() -> None:
        db, bus = open_backend("database", postgres_url()), open_backend("eventbus", redis_url())
        try:
            await db.connect()
            await bus.ping()
        finally:
            await db.close()
            await bus.close()

    try:
        asyncio.run(reachable())
    except StoreUnavailableError as exc:
        missing(f"PostgreSQL/Redis not reachable: {exc}")
