"""Every route × every role: the table below is the access policy; a route missing
from it fails the first test, so no route can ship without a declared policy."""

from __future__ import annotations

from typing import Any

import pytest

from deployments.ingress.roles import ADMINS, ANYONE, Role
from tests.deployments.conftest import Api

PUBLIC = {
    ("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"),
    ("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/refresh"),
}

# (method, path template, allowed roles, concrete path, JSON body)
PROTECTED: list[tuple[str, str, frozenset[Role], str, Any]] = [
    ("GET", "/api/v1/auth/me", ANYONE, "/api/v1/auth/me", None),
    ("POST", "/api/v1/auth/logout", ANYONE, "/api/v1/auth/logout", {}),
    ("POST", "/api/v1/echo", ANYONE, "/api/v1/echo", {"message": "x"}),
    ("GET", "/api/v1/jobs/{job_id}", ANYONE, "/api/v1/jobs/nope", None),
    ("GET", "/api/v1/users", ADMINS, "/api/v1/users", None),
    ("POST", "/api/v1/users", ADMINS, "/api/v1/users",
     {"username": "newbie", "password": "long enough pw", "role": "viewer"}),
    ("PATCH", "/api/v1/users/{user_id}", ADMINS, "/api/v1/users/nope", {"role": "viewer"}),
    ("GET", "/api/v1/apikeys", ADMINS, "/api/v1/apikeys", None),
    ("POST", "/api/v1/apikeys", ADMINS, "/api/v1/apikeys", {"name": "k", "role": "viewer"}),
    ("DELETE", "/api/v1/apikeys/{key_id}", ADMINS, "/api/v1/apikeys/nope", None),
    ("GET", "/api/v1/audit", ADMINS, "/api/v1/audit", None),
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
