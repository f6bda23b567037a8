"""What the ingress answers on its own port (no gateway in front): nosniff on every
response, no caching of tokens, offline docs under a CSP, /metrics only for the scraper's
token or admins, /ready details only for admins."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deployments.ingress.roles import Role
from storage.registry import open_backend
from tests.deployments.conftest import Api, make_stores


def test_every_json_response_is_nosniff(api: Api) -> None:
    for response in (
        api.client.get("/health"),
        api.client.get("/api/v1/auth/me", headers=api.bearer("viewer")),
        api.client.get("/api/v1/nowhere"),
        api.client.get("/api/v1/users", params={"offset": -1}, headers=api.bearer("admin")),
        api.client.get("/openapi.json"),
    ):
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["x-content-type-options"] == "nosniff", response.url


def test_token_responses_are_not_stored(api: Api) -> None:
    login = api.client.post("/api/v1/auth/token",
                            data={"username": "viewer", "password": "correct horse battery"})
    assert login.status_code == 200
    refreshed = api.client.post("/api/v1/auth/refresh",
                                json={"refresh_token": login.json()["refresh_token"]})
    assert refreshed.status_code == 200
    for response in (login, refreshed):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


def _inline_hashes(html: str) -> set[str]:
    return {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
            for s in re.findall(r"<script>(.*?)</script>", html, re.DOTALL)}


def test_docs_are_offline_under_a_csp(api: Api) -> None:
    for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        response = api.client.get(page)
        assert response.status_code == 200, page
        html = response.text
        csp = response.headers["content-security-policy"]
        assert "script-src 'self' " in csp and "'unsafe-inline'" not in csp.split(";")[1]
        assert "frame-ancestors 'none'" in csp
        # every inline script is allowed by its hash, nothing else inline
        assert all(h in csp for h in _inline_hashes(html))
        # nothing is loaded from elsewhere: every src/href is on this origin
        external = re.findall(r"""(?:src|href)=["'](https?:)?//""", html)
        assert not external, (page, external)
    for asset in re.findall(r"""(?:src|href)=["'](/docs/assets/[^"']+)""",
                            api.client.get("/docs").text + api.client.get("/redoc").text):
        served = api.client.get(asset)
        assert served.status_code == 200 and len(served.content) > 1000, asset
    assert "SwaggerUIBundle" in api.client.get("/docs/assets/swagger-ui-bundle.js").text


def test_metrics_need_the_scrape_token_or_an_admin(make_api: Callable[..., Api]) -> None:
    api = make_api(metrics_token="scrape-token-1234")
    for role in Role:
        api.make_user(role.value, role)
    assert api.client.get("/metrics").status_code == 401
    wrong = api.client.get("/metrics", headers={"Authorization": "Bearer scrape-token-9999"})
    assert wrong.status_code == 401
    assert api.client.get("/metrics", headers=api.bearer("viewer")).status_code == 403
    for headers in ({"Authorization": "Bearer scrape-token-1234"}, api.bearer("admin")):
        scraped = api.client.get("/metrics", headers=headers)
        assert scraped.status_code == 200
        assert "armillary_http_requests_total" in scraped.text


def test_ready_details_are_for_admins_only(
    make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any
) -> None:
    stores = make_stores(tmp_path, chdb_warehouse)
    stores.eventbus = open_backend("eventbus", "redis://127.0.0.1:1/0")  # nothing listens
    api = make_api(stores=stores)
    for role in Role:
        api.make_user(role.value, role)
    anonymous = api.client.get("/ready")
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "degraded"}
    for role in ("viewer", "analyst"):
        seen = api.client.get("/ready", headers=api.bearer(role))
        assert seen.json() == {"status": "degraded"}, role
    admin = api.client.get("/ready", headers=api.bearer("admin"))
    body: dict[str, Any] = admin.json()
    assert admin.status_code == 503 and body["down"] == ["eventbus"]
    assert "127.0.0.1:1" in body["stores"]["eventbus"] or "unreachable" in str(body)
