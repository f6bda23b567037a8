"""Every route × every role: the table below is the access policy; a route missing
from it fails the first test, so no route can ship without a declared policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from deployments.ingress.roles import ADMINS, ANALYSTS, ANYONE, STAFF, Role
from tests.deployments.conftest import Api, open_api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, chdb_warehouse: Any) -> Iterator[Api]:
    """One app and one login per role for the whole table (hashing passwords for every
    row would dominate the run); rows must not change what later rows see."""
    api = open_api(tmp_path_factory.mktemp("roles"), chdb_warehouse)
    for role in Role:
        api.make_user(role.value, role)
    yield api
    api.client.__exit__(None, None, None)

PUBLIC = {
    ("GET", "/health"), ("GET", "/ready"),
    ("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/refresh"),
}

# (method, path template, allowed roles, concrete path, JSON body)
_A = "/api/v1/analytics"
_CUSTOMER = {"customer_id": "c1", "recency": 3, "history": 100.0, "mens": 1, "womens": 0,
             "zip_code": "Urban", "newbie": 0, "channel": "Web"}
_REPORT = f"{_A}/reports/0123456789abcdef0123456789abcdef"
_C = "/api/v1/crypto"
_D = "/api/v1/ocr/documents/0123456789abcdef0123456789abcdef"

PROTECTED: list[tuple[str, str, frozenset[Role], str, Any]] = [
    ("GET", "/api/v1/auth/me", ANYONE, "/api/v1/auth/me", None),
    ("POST", "/api/v1/auth/logout", ANYONE, "/api/v1/auth/logout", {}),
    ("GET", "/api/v1/echo", ANYONE, "/api/v1/echo?message=x", None),
    ("GET", "/api/v1/jobs/{job_id}", ANYONE, "/api/v1/jobs/nope", None),
    ("GET", "/metrics", ADMINS, "/metrics", None),  # or the metrics token (scrapers)
    ("GET", "/api/v1/users", ADMINS, "/api/v1/users", None),
    ("POST", "/api/v1/users", ADMINS, "/api/v1/users",
     {"username": "newbie", "password": "long enough pw", "role": "viewer"}),
    ("PATCH", "/api/v1/users/{user_id}", ADMINS, "/api/v1/users/nope", {"role": "viewer"}),
    ("GET", "/api/v1/apikeys", ADMINS, "/api/v1/apikeys", None),
    ("POST", "/api/v1/apikeys", ADMINS, "/api/v1/apikeys", {"name": "k", "role": "viewer"}),
    ("DELETE", "/api/v1/apikeys/{key_id}", ADMINS, "/api/v1/apikeys/nope", None),
    ("GET", "/api/v1/audit", ADMINS, "/api/v1/audit", None),
    # analytics: writes and customer-level answers ANALYSTS, aggregates ANYONE
    ("POST", f"{_A}/imports", ANALYSTS, f"{_A}/imports", None),
    ("POST", f"{_A}/imports/sample", ANALYSTS, f"{_A}/imports/sample", {"table": "1x"}),
    ("GET", f"{_A}/segments", ANYONE, f"{_A}/segments", None),
    ("GET", f"{_A}/customers/{{customer_id}}/segment", ANALYSTS,
     f"{_A}/customers/c1/segment", None),
    ("GET", f"{_A}/customers/{{customer_id}}/clv", ANALYSTS, f"{_A}/customers/c1/clv", None),
    ("POST", f"{_A}/uplift/scores", ANALYSTS, f"{_A}/uplift/scores",
     {"customers": [_CUSTOMER]}),
    ("POST", f"{_A}/uplift/targeting", ANALYSTS, f"{_A}/uplift/targeting",
     {"customers": [_CUSTOMER], "budget": 10, "cost_per_contact": 1}),
    ("POST", f"{_A}/allocation", ANALYSTS, f"{_A}/allocation", {"total": 100.0}),
    ("GET", f"{_A}/models", ANYONE, f"{_A}/models", None),
    ("POST", f"{_A}/training", ANALYSTS, f"{_A}/training", {"quick": True}),
    ("POST", f"{_A}/reports", ANALYSTS, f"{_A}/reports", {}),
    ("GET", f"{_A}/reports", ANYONE, f"{_A}/reports", None),
    ("GET", f"{_A}/reports/{{report_id}}.html", ANYONE, f"{_REPORT}.html", None),
    ("GET", f"{_A}/reports/{{report_id}}.pdf", ANYONE, f"{_REPORT}.pdf", None),
    ("POST", f"{_A}/schedules", ANALYSTS, f"{_A}/schedules", {"name": "weekly"}),
    ("GET", f"{_A}/schedules", ANYONE, f"{_A}/schedules", None),
    ("DELETE", f"{_A}/schedules/{{schedule_id}}", ANALYSTS, f"{_A}/schedules/nope", None),
    # crypto: reads ANYONE, data ingest STAFF (analysts, researchers, admins)
    ("GET", f"{_C}/{{symbol}}/prediction", ANYONE, f"{_C}/BTC-USDT/prediction", None),
    ("GET", f"{_C}/{{symbol}}/backtest", ANYONE, f"{_C}/BTC-USDT/backtest", None),
    ("GET", f"{_C}/{{symbol}}/history", ANYONE, f"{_C}/BTC-USDT/history", None),
    ("POST", f"{_C}/candles/import", STAFF, f"{_C}/candles/import", None),
    ("POST", f"{_C}/sentiment", STAFF, f"{_C}/sentiment",
     {"items": [{"timestamp": "2024-01-01T00:00:00Z", "symbol": "BTC/USDT", "text": "up"}]}),
    # ocr: everything ANALYSTS (a document is visible to its owner and admins)
    ("POST", "/api/v1/ocr/documents", ANALYSTS, "/api/v1/ocr/documents", None),
    ("GET", "/api/v1/ocr/documents", ANALYSTS, "/api/v1/ocr/documents", None),
    ("GET", "/api/v1/ocr/documents/{document_id}", ANALYSTS, _D, None),
    ("GET", "/api/v1/ocr/documents/{document_id}/pages/{page}.png", ANALYSTS,
     f"{_D}/pages/1.png", None),
    ("GET", "/api/v1/ocr/documents/{document_id}/searchable.pdf", ANALYSTS,
     f"{_D}/searchable.pdf", None),
    ("GET", "/api/v1/ocr/batches", ANALYSTS, "/api/v1/ocr/batches", None),
]


def test_every_route_has_a_declared_policy(api: Api) -> None:
    schema = api.client.app.openapi()  # type: ignore[attr-defined]
    routes = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    declared = PUBLIC | {(m, p) for m, p, *_ in PROTECTED}
    assert routes == declared


@pytest.mark.parametrize(("method", "template", "allowed", "path", "body"), PROTECTED,
                         ids=[f"{m} {t}" for m, t, *_ in PROTECTED])
def test_route_by_role(
    api: Api, method: str, template: str, allowed: frozenset[Role], path: str, body: Any
) -> None:
    anonymous = api.client.request(method, path, json=body)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"] == "Bearer"
    for role in Role:
        # logging out revokes the token: use a fresh one so the shared ones stay valid
        headers = (api.bearer(role.value) if template != "/api/v1/auth/logout" else
                   {"Authorization": f"Bearer {api.login(role.value)['access_token']}"})
        response = api.client.request(method, path, json=body, headers=headers)
        if role in allowed:
            assert response.status_code not in (401, 403, 500), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert role.value in response.json()["detail"]
