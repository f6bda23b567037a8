"""The built web interface served by the ingress at `/`: files of the build, the
index.html fallback for client-side routes with the CSP header, and the API (plus
/health, /ready, /metrics, /docs) keeping precedence; nothing mounted without a build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from deployments.echo.service import Echo
from deployments.ingress.api import create_api
from deployments.ingress.services import LocalTransport
from deployments.ingress.web import CONTENT_SECURITY_POLICY
from tests.deployments.conftest import make_stores

INDEX = "<!doctype html><html><body><div id=root></div>" \
        "<script type=module src=/assets/app-1.js></script></body></html>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "assets" / "app-1.js").write_text("console.log('app')")
    (folder / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return folder


def _client(tmp_path: Path, warehouse: Any, dist: Path | None) -> TestClient:
    settings = Settings(environment="test", data_dir=tmp_path)
    app = create_api(settings, make_stores(tmp_path, warehouse),
                     {"echo": LocalTransport(Echo())}, web_dist=dist)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def web(tmp_path: Path, chdb_warehouse: Any, dist: Path) -> Iterator[TestClient]:
    with _client(tmp_path, chdb_warehouse, dist) as client:
        yield client


def test_index_and_client_routes_get_the_app_with_csp(web: TestClient) -> None:
    for path in ("/", "/login", "/admin", "/analytics/segments"):
        response = web.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["content-type"].startswith("text/html")
        csp = response.headers["content-security-policy"]
        assert csp == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-cache"


def test_build_files_are_served_as_files(web: TestClient) -> None:
    asset = web.get("/assets/app-1.js")
    assert asset.status_code == 200 and asset.text == "console.log('app')"
    assert "javascript" in asset.headers["content-type"]
    assert "immutable" in asset.headers["cache-control"]
    assert web.get("/favicon.svg").headers["content-type"].startswith("image/svg")
    # a missing file is a 404, not the app
    missing = web.get("/assets/gone-2.js")
    assert missing.status_code == 404 and missing.json()["detail"] == "Not Found"


def test_no_escape_from_the_build_folder(web: TestClient) -> None:
    for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"):
        response = web.get(path)
        assert "outside the build" not in response.text, path


def test_api_and_system_routes_keep_precedence(web: TestClient) -> None:
    assert web.get("/health").json() == {"status": "ok"}
    ready = web.get("/ready")
    assert ready.status_code in (200, 503) and "status" in ready.json()
    assert web.get("/metrics").status_code == 401  # gated, but the API's, not the app's
    assert "swagger" in web.get("/docs").text.lower()
    assert web.get("/openapi.json").json()["info"]["title"] == "Armillary"
    me = web.get("/api/v1/auth/me")
    assert me.status_code == 401 and "request_id" in me.json()
    # unknown API paths stay JSON 404s instead of falling back to the app
    for path in ("/api/v1/nothing-here", "/api", "/docs/extra", "/metrics/x"):
        response = web.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json", path
        assert set(response.json()) == {"detail", "request_id"}
    post = web.post("/api/v1/nothing-here", json={})
    assert post.status_code == 404 and post.headers["content-type"] == "application/json"
    assert web.post("/admin").status_code == 404  # only GET/HEAD reach the app
    # a wrong method on an API route stays the router's 405 (a mount at / made it a 404)
    wrong = web.put("/api/v1/users")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    assert wrong.headers["content-type"] == "application/json"


def test_nothing_mounted_without_a_build(tmp_path: Path, chdb_warehouse: Any) -> None:
    with _client(tmp_path, chdb_warehouse, tmp_path / "not-built") as client:
        assert client.get("/").status_code == 404
        assert client.get("/health").json() == {"status": "ok"}
