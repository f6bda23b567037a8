"""Schemathesis against the API's own OpenAPI document: every operation, positive and
negative examples, with admin credentials. Every response must not be a 5xx and must
conform to the schema (a documented status code, the documented content type, a body that
validates, documented headers).

The app is the real ingress with every service in process (echo, OCR, crypto, analytics)
on embedded stores (SQLite, in-memory cache and bus, chDB), as the contract tests run it.
``ARMILLARY_FUZZ_EXAMPLES`` sets the examples per operation and mode (default 6: CI time).
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.settings import Settings
from deployments.analytics.service import AnalyticsService
from deployments.crypto.service import CryptoService
from deployments.ingress.roles import Role
from deployments.ocr.service import OcrService
from tests.deployments.conftest import Api, make_stores, open_api
from tests.deployments.ocr_support import png_page

EXAMPLES = int(os.environ.get("ARMILLARY_FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
SENT = {"method", "url", "headers", "files", "data", "params", "json", "cookies"}


@dataclass
class Tally:
    operations: int = 0
    responses: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: Counter[str] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, chdb_warehouse: Any) -> Iterator[
        tuple[Api, dict[str, str]]]:
    """The app with every service in process, and an admin API key (a bearer token would
    be revoked by the fuzzed logout)."""
    root = tmp_path_factory.mktemp("fuzz")
    overrides: dict[str, Any] = {
        "ocr_document_pages_table": f"ocr_doc_{uuid.uuid4().hex[:8]}",
        "ocr_sync_max_pages": 1, "ocr_max_pages": 4,
        # No training data: training requests are answered (4xx) without fitting models.
        "analytics_training_data": root / "no-training-data",
        "rate_limit_per_minute": 1_000_000, "login_rate_limit_per_minute": 1_000_000,
        "crypto_refresh_s": 0.0,
    }
    stores = make_stores(root, chdb_warehouse)
    settings = Settings(environment="test", data_dir=root, **overrides)
    services: dict[str, Any] = {
        "ocr": OcrService(settings, stores),
        "crypto": CryptoService(settings, stores, table=f"crypto_candles_{uuid.uuid4().hex[:8]}"),
        "analytics": AnalyticsService(settings, stores),
    }
    api = open_api(root, chdb_warehouse, stores, services, **overrides)
    api.make_user("admin", Role.ADMIN)
    created = api.client.post("/api/v1/apikeys", headers=api.bearer("admin"),
                              json={"name": "fuzz", "role": "admin"})
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    yield api, key
    api.run(services["ocr"].stop)
    api.run(services["analytics"].stop)
    api.run(services["crypto"].close)
    api.client.__exit__(None, None, None)


def seed_document(api: Api, headers: dict[str, str]) -> str:
    """One OCR document with a page image and a searchable PDF: the file routes answer
    200 (bytes of their own content type) when fuzzed with its id."""
    response = api.client.post("/api/v1/ocr/documents", headers=headers,
                               files={"file": ("page.png", png_page(["Fuzz 42"]))},
                               data={"pdf": "true"})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def send(api: Api, case: Any, headers: dict[str, str]) -> Any:
    """The case as requests would send it (schemathesis' serialization: multipart, forms,
    JSON), through the app's test client."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in SENT}).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return api.client.request(prepared.method or "GET", prepared.url or "/",
                              headers=dict(prepared.headers), content=body)


def fuzz_operation(api: Api, headers: dict[str, str], operation: Any, mode: GenerationMode,
                   tally: Tally, path_parameters: dict[str, Any] | None = None) -> None:
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                         derandomize=True, phases=[hypothesis.Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case: Any) -> None:
        try:
            response = send(api, case, headers)
        except Exception as exc:  # the request could not even be sent (e.g. URL too long)
            tally.failures.append(f"{case.method} {case.path} [{mode.value}]: not sendable: "
                                  f"{type(exc).__name__}: {str(exc)[:200]}")
            return
        tally.responses += 1
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                tally.failures.append(
                    f"{case.method} {case.path} [{mode.value}] -> {response.status_code}: "
                    f"{failure.title}: {str(failure.message)[:300]}")

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # nothing to negate (no parameters, no body)


def test_every_operation_conforms_and_never_5xx(suite: tuple[Api, dict[str, str]]) -> None:
    api, headers = suite
    schema = schemathesis.openapi.from_dict(api.client.app.openapi())  # type: ignore[attr-defined]
    tally = Tally()
    document = seed_document(api, headers)
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations += 1
        began = time.monotonic()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(api, headers, operation, mode, tally)
        if "{document_id}" in operation.path:  # again on a real document: its 200s
            fuzz_operation(api, headers, operation, GenerationMode.POSITIVE, tally,
                           {"document_id": document, "page": 1} if "{page}" in operation.path
                           else {"document_id": document})
        tally.seconds[operation.label] = round(time.monotonic() - began, 1)
    elapsed = time.monotonic() - started
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    print(f"\nfuzz: {tally.operations} operations, {tally.responses} responses, "
          f"{server_errors} x 5xx, {len(tally.failures)} violations, {elapsed:.1f} s, "
          f"{EXAMPLES} examples per operation and mode; statuses {dict(tally.statuses)}; "
          f"slowest {tally.seconds.most_common(5)}")
    assert tally.operations >= 40
    assert tally.responses >= tally.operations * 2  # every operation answered, both modes
    unique = sorted(set(tally.failures))
    assert not unique, "\n".join(unique)


# the job kind each 202 route creates: only those are counted, since the suite's background
# work (the fuzz run's schedules, training on start) may add jobs of other kinds meanwhile
JOB_KINDS = {"/api/v1/analytics/training": "analytics.training",
             "/api/v1/analytics/reports": "analytics.report",
             "/api/v1/analytics/imports": "analytics.import",
             "/api/v1/analytics/imports/sample": "analytics.import",
             "/api/v1/ocr/documents": "ocr.document"}


def job_count(api: Api, path: str) -> int:
    kind = JOB_KINDS[path.split("?")[0]]
    return int(api.run(api.ctx.stores.database.fetchval,
                       "SELECT count(*) FROM jobs WHERE kind = $1", kind))


A = "/api/v1/analytics"
BAD_202_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    # (name, path, request kwargs): each of these routes answers 202 with a job when valid
    ("training: seed beyond 64 bits", f"{A}/training",
     {"json": {"seed": 99999999999999999999999999}}),
    ("training: negative seed", f"{A}/training", {"json": {"seed": -1}}),
    ("training: quick not a bool", f"{A}/training", {"json": {"quick": "maybe"}}),
    ("report: seed beyond 64 bits", f"{A}/reports",
     {"json": {"seed": 99999999999999999999999999}}),
    ("report: not a calendar date", f"{A}/reports", {"json": {"as_of": "2021-02-30"}}),
    ("report: year 9999", f"{A}/reports", {"json": {"calibration_end": "9999-01-01"}}),
    ("report: k_min > k_max", f"{A}/reports", {"json": {"k_min": 9, "k_max": 3}}),
    ("report: table name", f"{A}/reports", {"json": {"table": "x; DROP TABLE y"}}),
    ("report: a table nothing was imported into", f"{A}/reports",
     {"json": {"table": "never_imported"}}),
    ("report: huge horizon", f"{A}/reports", {"json": {"clv_horizon_weeks": 1e308}}),
    ("import: table name", f"{A}/imports",
     {"files": {"file": ("t.csv", b"a,b\n1,2\n", "text/csv")}, "data": {"table": "1x"}}),
    ("import: not CSV or Parquet", f"{A}/imports",
     {"files": {"file": ("t.txt", b"hello", "text/plain")}}),
    ("import: empty", f"{A}/imports", {"files": {"file": ("t.csv", b"", "text/csv")}}),
    ("sample import: table name", f"{A}/imports/sample", {"json": {"table": "1x"}}),
    ("sample import: the reference name", f"{A}/imports/sample",
     {"json": {"table": "reference"}}),
    ("ocr: not a document", "/api/v1/ocr/documents?async=true",
     {"files": {"file": ("x.bin", b"just some words", "application/octet-stream")}}),
    ("ocr: psm out of range", "/api/v1/ocr/documents?async=true",
     {"files": {"file": ("p.png", b"x", "image/png")}, "data": {"psm": "99"}}),
    ("ocr: unknown language", "/api/v1/ocr/documents?async=true",
     {"files": {"file": ("p.png", png_page(["x"]), "image/png")},
      "data": {"lang": "zz_nope"}}),
    ("ocr: unknown processor", "/api/v1/ocr/documents?async=true",
     {"files": {"file": ("p.png", png_page(["x"]), "image/png")},
      "data": {"processors": "no_such_processor"}}),
]


@pytest.mark.parametrize(("name", "path", "kwargs"), BAD_202_REQUESTS,
                         ids=[b[0] for b in BAD_202_REQUESTS])
def test_routes_answering_202_validate_before_any_job_exists(
        suite: tuple[Api, dict[str, str]], name: str, path: str, kwargs: dict[str, Any]
) -> None:
    api, headers = suite
    before = job_count(api, path)
    response = api.client.post(path, headers=headers, **kwargs)
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
    assert response.json()["detail"], response.text
    assert job_count(api, path) == before, (
        f"{name}: a job was created before the {response.status_code}")
