"""Real servers for the tests: PostgreSQL and Redis are expected to be running (the
Makefile starts them on a fresh machine); InfluxDB is started here, from Debian's
package, in a temporary directory on a free port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from cluster.ports import free_port, port_open

__all__ = ["POSTGRES_URL", "REDIS_URL", "free_port", "influxdb", "port_open"]

POSTGRES_URL = os.environ.get(
    "ARMILLARY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("ARMILLARY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


INFLUX_CONFIG = """
reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{http}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
"""


@contextmanager
def influxdb(root: Path) -> Iterator[str]:
    """Run `influxd` under `root`; yields its base URL (http://127.0.0.1:PORT)."""
    binary = shutil.which("influxd")
    if binary is None:
        raise FileNotFoundError("influxd not installed (Debian package 'influxdb')")
    http, rpc = free_port(), free_port()
    config = root / "influxdb.conf"
    config.write_text(INFLUX_CONFIG.format(root=root, http=http, rpc=rpc))
    log = (root / "influxd.log").open("wb")
    proc = subprocess.Popen([binary, "-config", str(config)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"influxd exited: {(root / 'influxd.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 204:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError("influxd did not answer /ping within 30 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _as_postgres_user() -> list[str]:
    """Prefix that runs a PostgreSQL binary as the `postgres` user when we are root
    (initdb and postgres refuse to run as root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise FileNotFoundError("running as root needs runuser to start PostgreSQL")
    return [runuser, "-u", "postgres", "--"]


def _postgres_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        raise FileNotFoundError(f"PostgreSQL's {name} not installed")
    return on_path


class PrivateServer:
    """A server this test started on its own port in its own directory; stopped by the
    pid it runs under."""

    url: str
    pid: int | None

    def _kill(self, signal_number: int = signal.SIGTERM) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal_number)
        except ProcessLookupError:
            self.pid = None
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None


class PrivatePostgres(PrivateServer):
    """PostgreSQL in a new directory under /tmp (the `postgres` user must reach it when we
    are root) on a free port: ``url`` (database ``postgres``, trust), ``restart()``
    (``pg_ctl restart -m fast``), ``stop()`` / ``start()``, ``remove()``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="arm-pg-"))
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.pid = None
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        subprocess.run([*_as_postgres_user(), _postgres_bin("initdb"), "-D",
                        str(self.root / "data"), "-U", "postgres", "-A", "trust",
                        "--no-sync"], check=True, capture_output=True)

    def _pg_ctl(self, *args: str) -> None:
        options = (f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off"
                   " -c max_connections=60")
        subprocess.run([*_as_postgres_user(), _postgres_bin("pg_ctl"), "-D",
                        str(self.root / "data"), "-l", str(self.root / "log"), "-o", options,
                        "-w", "-t", "30", *args], check=True, capture_output=True)
        self.pid = int((self.root / "data" / "postmaster.pid").read_text().split()[0])

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is dropped, mid-query or not."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster: sessions are ended, not waited for)."""
        self._kill(signal.SIGINT)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis(PrivateServer):
    """redis-server in ``root`` on a free port, with an fsync-always append-only file (so
    what it acknowledged survives a stop); ``stop()`` / ``start()``."""

    def __init__(self, root: Path) -> None:
        self.root = root / "redis"
        self.root.mkdir(parents=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.pid = None
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server not installed")
        log = (self.root / "log").open("ab")
        self._proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=log, stderr=log)
        self.pid = self._proc.pid
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {(self.root / 'log').read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        self._kill()
        if self._proc is not None:
            self._proc.wait(5)
            self._proc = None


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.remove()


@contextmanager
def private_redis(root: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
