"""Cross-cutting behaviour of the ingress: rate limits, audit log, request ids, body
limits, error format, health/readiness/metrics, OpenAPI docs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from deployments.ingress.roles import Role
from storage.registry import open_backend
from tests.deployments.conftest import Api, make_stores


def test_rate_limit_gives_429_with_retry_after(make_api: Callable[..., Api]) -> None:
    api = make_api(rate_limit_per_minute=3)
    api.make_user("rl", Role.VIEWER)
    headers = api.bearer("rl")
    codes = [api.client.get("/api/v1/auth/me", headers=headers).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    limited = api.client.get("/api/v1/auth/me", headers=headers)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "rate limit" in limited.json()["detail"]


def test_login_attempts_are_rate_limited(make_api: Callable[..., Api]) -> None:
    api = make_api(login_rate_limit_per_minute=2)
    codes = [api.client.post("/api/v1/auth/token",
                             data={"username": "x", "password": "y"}).status_code
             for _ in range(3)]
    assert codes == [401, 401, 429]


def test_mutations_are_audited_with_actor_and_outcome(api: Api) -> None:
    admin = api.bearer("admin")
    api.client.post("/api/v1/users", headers=admin,
                    json={"username": "dave", "password": "long enough pw"})
    api.client.post("/api/v1/users", headers=api.bearer("viewer"),
                    json={"username": "eve", "password": "long enough pw"})
    entries = api.client.get("/api/v1/audit", headers=admin).json()
    by_outcome = {(e["actor"], e["path"], e["outcome"]) for e in entries}
    assert ("user:admin", "/api/v1/users", "success") in by_outcome
    assert ("user:viewer", "/api/v1/users", "denied") in by_outcome
    assert ("login:admin", "/api/v1/auth/token", "success") in by_outcome
    assert all(e["request_id"] for e in entries)


def test_request_id_generated_or_propagated(api: Api) -> None:
    generated = api.client.get("/health").headers["x-request-id"]
    assert len(generated) >= 16
    given = api.client.get("/health", headers={"X-Request-ID": "trace-12345678"})
    assert given.headers["x-request-id"] == "trace-12345678"
    bad = api.client.get("/health", headers={"X-Request-ID": "<script>"})
    assert bad.headers["x-request-id"] != "<script>"


def test_errors_are_json_with_request_id(api: Api) -> None:
    for response in (
        api.client.get("/api/v1/nope"),
        api.client.delete("/health"),
        api.client.post("/api/v1/users", content=b"{not json", headers={
            **api.bearer("admin"), "content-type": "application/json"}),
        api.client.get("/api/v1/echo", headers=api.bearer("viewer")),
    ):
        assert 400 <= response.status_code < 500
        body = response.json()
        assert body["detail"] and body["request_id"] == response.headers["x-request-id"]


def test_oversized_body_is_413(make_api: Callable[..., Api]) -> None:
    api = make_api(max_body_bytes=1000)
    api.make_user("big", Role.VIEWER)
    headers = api.bearer("big")
    declared = api.client.post("/api/v1/auth/logout", json={"refresh_token": "x" * 5000},
                               headers=headers)
    assert declared.status_code == 413 and "1000" in declared.json()["detail"]

    def chunks() -> Any:
        yield b'{"refresh_token": "'
        for _ in range(10):
            yield b"y" * 200
        yield b'"}'

    streamed = api.client.post("/api/v1/auth/logout", content=chunks(),
                               headers={**headers, "content-type": "application/json"})
    assert streamed.status_code == 413


def test_echo_reaches_the_service(api: Api) -> None:
    response = api.client.get("/api/v1/echo", params={"message": "héllo"},
                              headers=api.bearer("viewer"))
    assert response.json() == {"echo": "héllo", "caller": "viewer"}


def test_health_ready_metrics_docs(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    ready = api.client.get("/ready", headers=api.bearer("admin"))
    assert ready.status_code == 200 and ready.json()["down"] == []
    metrics = api.client.get("/metrics", headers=api.bearer("admin")).text
    assert 'armillary_http_requests_total{method="GET",route="/ready",status="200"}' in metrics
    assert 'armillary_store_up{store="database"} 1.0' in metrics
    assert "armillary_http_request_duration_seconds_bucket" in metrics
    assert api.client.get("/docs").status_code == 200
    assert "/api/v1/auth/token" in api.client.get("/openapi.json").json()["paths"]


def test_ready_names_the_store_that_is_down(
    make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any
) -> None:
    stores = make_stores(tmp_path, chdb_warehouse)
    stores.cache = open_backend("cache", "redis://127.0.0.1:1/0")  # nothing listens there
    api = make_api(stores=stores, metrics_token="scrape-token-1234")
    ready = api.client.get("/ready")
    # Anonymous callers (probes) get the status only; the reason is for admins
    # (tests/deployments/test_edge_headers.py), here unreachable: auth needs the cache.
    assert ready.status_code == 503 and ready.json() == {"status": "degraded"}
    metrics = api.client.get("/metrics", headers={"Authorization": "Bearer scrape-token-1234"})
    assert "armillary_store_up{store=\"cache\"} 0.0" in metrics.text
