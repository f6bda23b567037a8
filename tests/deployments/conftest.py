"""The ingress app under test: the real FastAPI app on embedded stores (SQLite file,
in-memory cache and bus, chDB warehouse), driven through Starlette's TestClient, which
runs the app's lifespan."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from deployments.echo.service import Echo
from deployments.ingress.api import create_api
from deployments.ingress.roles import Role
from deployments.ingress.services import LocalTransport
from storage.registry import open_backend
from storage.stores import Stores

if TYPE_CHECKING:
    from tests.deployments.ocr_replicas import Replicas

PASSWORD = "correct horse battery"


def make_stores(tmp_path: Path, warehouse: Any, cache_url: str = "memory://t",
                database_url: str | None = None) -> Stores:
    """Embedded stores for one test: a SQLite file in `tmp_path`, in-process cache and bus,
    and a time-series table of its own in the session's shared chDB `warehouse`."""
    return Stores(
        database=open_backend("database", database_url or f"sqlite:///{tmp_path}/db.sqlite"),
        cache=open_backend("cache", cache_url),
        eventbus=open_backend("eventbus", "memory://t"),
        timeseries=open_backend(
            "timeseries", f"warehouse://ts_{uuid.uuid4().hex[:10]}", warehouse=warehouse
        ),
        warehouse=warehouse,
    )


class Api:
    """A TestClient plus helpers to make users and log in."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.ctx = client.app.state.ctx  # type: ignore[attr-defined]
        self._tokens: dict[str, dict[str, str]] = {}

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.portal.call(fn, *args)  # type: ignore[union-attr]

    def make_user(self, username: str, role: Role, password: str = PASSWORD) -> str:
        return str(self.run(self.ctx.auth.create_user, username, password, role).id)

    def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def bearer(self, username: str) -> dict[str, str]:
        """Headers with an access token for `username` (one login per user and test)."""
        if username not in self._tokens:
            token = self.login(username)["access_token"]
            self._tokens[username] = {"Authorization": f"Bearer {token}"}
        return self._tokens[username]


@pytest.fixture(scope="session")
def serve_url(ray_session: Any) -> Iterator[str]:
    """The whole Serve application (build_app: ingress + every model deployment) on the
    session's local Ray, started once for all Serve tests; yields its base URL. The
    admin user is `admin` / `admin-dev-password` (test environment)."""
    from ray import serve

    from cluster.local import APP_NAME, bootstrap_stores
    from config.settings import load_settings
    from deployments.app import AppArgs, build_app
    from storage.stores import open_stores
    from tests.services import free_port

    settings = load_settings()
    asyncio.run(bootstrap_stores(settings, open_stores(settings, via_ray=True)))
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app(AppArgs(ingress_max_replicas=1)), name=APP_NAME, route_prefix="/")
    yield f"http://127.0.0.1:{port}"
    serve.shutdown()


def open_api(
    data_dir: Path,
    warehouse: Any,
    stores: Stores | None = None,
    services: dict[str, Any] | None = None,
    **overrides: Any,
) -> Api:
    """The app on embedded stores in `data_dir`, started (lifespan run); `services`
    adds in-process service objects (wrapped in `LocalTransport`) next to the echo service.
    Close it with `api.client.__exit__(None, None, None)`."""
    settings = Settings(environment="test", data_dir=data_dir, **overrides)
    clients = {"echo": LocalTransport(Echo())}
    clients.update({name: LocalTransport(obj) for name, obj in (services or {}).items()})
    app = create_api(settings, stores or make_stores(data_dir, warehouse), clients)
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    return Api(client)


@pytest.fixture
def make_api(tmp_path: Path, chdb_warehouse: Any) -> Iterator[Callable[..., Api]]:
    opened: list[Api] = []

    def factory(
        stores: Stores | None = None, services: dict[str, Any] | None = None, **overrides: Any
    ) -> Api:
        api = open_api(tmp_path, chdb_warehouse, stores, services, **overrides)
        opened.append(api)
        return api

    yield factory
    for api in opened:
        api.client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    api = make_api()
    for role in Role:
        api.make_user(role.value, role)
    return api


@pytest.fixture(params=["embedded", "postgres-redis"])
def replicas(request: pytest.FixtureRequest, make_api: Callable[..., Api], tmp_path: Path,
             chdb_warehouse: Any) -> Iterator[Replicas]:
    """Two OCR replicas on shared stores, embedded and on PostgreSQL + Redis
    (:mod:`tests.deployments.ocr_replicas`)."""
    from deployments.ocr.service import OcrService
    from tests.deployments.ocr_replicas import LEASE_S, Replicas, require_servers, shared_stores

    if request.param != "embedded":
        require_servers()
    stores_a, stores_b = shared_stores(request.param, tmp_path, chdb_warehouse)
    settings = {"ocr_document_pages_table": f"ocr_doc_{uuid.uuid4().hex[:8]}",
                "ocr_sync_max_pages": 1, "ocr_max_pages": 4, "ocr_job_lease_s": LEASE_S,
                "ocr_worker_poll_s": 0.1}
    a = OcrService(Settings(environment="test", data_dir=tmp_path / "a", **settings), stores_a)
    api = make_api(stores=stores_a, services={"ocr": a}, **settings)
    replicas = Replicas(api, a, stores_b, tmp_path, settings)
    replicas.analyst_id = api.make_user("analyst", Role.ANALYST)
    yield replicas
    for service in (a, *replicas.started):
        api.run(service.stop)
    api.run(stores_b.database.close)
    if request.param != "embedded":
        api.run(stores_b.eventbus.close)
        api.run(stores_b.cache.close)
        api.run(stores_a.database.drop_schema)  # type: ignore[attr-defined]
    for name in ("a", "b"):  # nothing on the replicas' disks
        assert not (tmp_path / name / "ocr").exists()
