"""The real Serve application (ingress + echo deployments, embedded stores owned by
actors) on a local Ray: log in over HTTP, call a protected route, 401/403/429."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.ray, pytest.mark.serve]


def test_login_and_protected_route_through_serve(serve_url: str) -> None:
    with httpx.Client(base_url=serve_url, timeout=30) as http:
        assert http.get("/health").json() == {"status": "ok"}
        assert http.get("/ready").json() == {"status": "ready"}
        assert http.get("/api/v1/echo", params={"message": "x"}).status_code == 401
        login = http.post("/api/v1/auth/token",
                          data={"username": "admin", "password": "admin-dev-password"})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        echoed = http.get("/api/v1/echo", params={"message": "through serve"}, headers=auth)
        assert echoed.json() == {"echo": "through serve", "caller": "admin"}
        assert echoed.headers["x-request-id"]

        viewer = http.post("/api/v1/users", headers=auth,
                           json={"username": "serve-viewer", "password": "long enough pw"})
        assert viewer.status_code == 201
        token = http.post("/api/v1/auth/token",
                          data={"username": "serve-viewer", "password": "long enough pw"})
        viewer_auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert http.get("/api/v1/users", headers=viewer_auth).status_code == 403
        assert http.get("/ready", headers=auth).json()["down"] == []
        assert http.get("/metrics").status_code == 401
        assert "armillary_http_requests_total" in http.get("/metrics", headers=auth).text
