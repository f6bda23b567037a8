"""Real servers for the tests: PostgreSQL and Redis are expected to be running (the
Makefile starts them on a fresh machine); InfluxDB is started here, from Debian's
package, in a temporary directory on a free port."""

from __future__ import annotations

import os
import shutil
import subprocess
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
