"""Every route × every role: the table below is the access policy; a route missing
from it fails the first test, so no route can ship without a declared policy."""

from __future__ import annotations

from typing import Any

import pytest

from deployments.ingress.roles import ADMINS, ANALYSTS, ANYONE, Role
from tests.deployments.conftest import Api

PUBLIC = {
    ("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"),
    ("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/refresh"),
}

# (method, path template, allowed roles, concrete path, JSON body)
_CUSTOMER = {"customer_id": "c1", "recency": 3, "history": 100.0, "mens": 1, "womens": 0, "zip_code": "Urban", "newbie": 0, "channel": "Web"}

PROTECTED: list[tuple[str, str, frozenset[Role], str, Any]] = [
    ("GET", "/api/v1/auth/me", ANYONE, "/api/v1/auth/me", None),
    ("POST", "/api/v1/auth/logout", ANYONE, "/api/v1/auth/logout", {}),
    ("GET", "/api/v1/echo", ANYONE, "/api/v1/echo?message=x", None),
    ("GET", "/api/v1/jobs/{job_id}", ANYONE, "/api/v1/jobs/nope", None),
    ("GET", "/api/v1/users", ADMINS, "/api/v1/users", None),
    ("POST", "/api/v1/users", ADMINS, "/api/v1/users",
     {"username": "newbie", "password": "long enough pw", "role": "viewer"}),
    ("PATCH", "/api/v1/users/{user_id}", ADMINS, "/api/v1/users/nope", {"role": "viewer"}),
    ("GET", "/api/v1/apikeys", ADMINS, "/api/v1/apikeys", None),
    ("POST", "/api/v1/apikeys", ADMINS, "/api/v1/apikeys", {"name": "k", "role": "viewer"}),
    ("DELETE", "/api/v1/apikeys/{key_id}", ADMINS, "/api/v1/apikeys/nope", None),
    ("GET", "/api/v1/audit", ADMINS, "/api/v1/audit", None),
    # analytics: writes and customer-level answers ANALYSTS, aggregates ANYONE
    ("POST", "/api/v1/analytics/imports", ANALYSTS, "/api/v1/analytics/imports", None),
    ("GET", "/api/v1/analytics/segments", ANYONE, "/api/v1/analytics/segments", None),
    ("GET", "/api/v1/analytics/customers/{customer_id}/segment", ANALYSTS, "/api/v1/analytics/customers/c1/segment", None),
    ("GET", "/api/v1/analytics/customers/{customer_id}/clv", ANALYSTS, "/api/v1/analytics/customers/c1/clv", None),
    ("POST", "/api/v1/analytics/uplift/scores", ANALYSTS, "/api/v1/analytics/uplift/scores", {"customers": [_CUSTOMER]}),
    ("POST", "/api/v1/analytics/uplift/targeting", ANALYSTS, "/api/v1/analytics/uplift/targeting",
     {"customers": [_CUSTOMER], "budget": 10, "cost_per_contact": 1}),
    ("POST", "/api/v1/analytics/allocation", ANALYSTS, "/api/v1/analytics/allocation", {"total": 100.0}),
    ("GET", "/api/v1/analytics/models", ANYONE, "/api/v1/analytics/models", None),
    ("POST", "/api/v1/analytics/training", ANALYSTS, "/api/v1/analytics/training", {"quick": True}),
    ("POST", "/api/v1/analytics/reports", ANALYSTS, "/api/v1/analytics/reports", {}),
    ("GET", "/api/v1/analytics/reports", ANYONE, "/api/v1/analytics/reports", None),
    ("GET", "/api/v1/analytics/reports/{report_id}.html", ANYONE, "/api/v1/analytics/reports/0123456789abcdef0123456789abcdef.html", None),
    ("GET", "/api/v1/analytics/reports/{report_id}.pdf", ANYONE, "/api/v1/analytics/reports/0123456789abcdef0123456789abcdef.pdf", None),
    ("POST", "/api/v1/analytics/schedules", ANALYSTS, "/api/v1/analytics/schedules", {"name": "weekly"}),
    ("GET", "/api/v1/analytics/schedules", ANYONE, "/api/v1/analytics/schedules", None),
    ("DELETE", "/api/v1/analytics/schedules/{schedule_id}", ANALYSTS, "/api/v1/analytics/schedules/nope", None),
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
        response = api.client.request(method, path, json=body, headers=api.bearer(role.value))
        if role in allowed:
            assert response.status_code not in (401, 403, 500), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert role.value in response.json()["detail"]
