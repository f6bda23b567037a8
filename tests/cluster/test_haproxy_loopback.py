"""cluster/bin/haproxy-loopback: HAProxy's side listeners go to loopback, Serve's frontends
keep their host (the shape of the config is Ray 2.60's haproxy_templates.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cluster.local import fast_proxy_environment

CONFIG = """\
global
    stats socket /tmp/haproxy.sock mode 600 level admin
frontend prometheus
    bind :9101
    mode http
frontend http_frontend
    bind *:8000
    default_backend ingress
frontend grpc_frontend
    bind *:9000 proto h2
backend ingress
    server replica-1 127.0.0.1:41000 check
listen stats
  bind *:8404
  stats enable
"""


def run_wrapper(tmp_path: Path, config: str) -> str:
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    wrapper = fast_proxy_environment()["RAY_SERVE_HAPROXY_BINARY_PATH"]
    env = dict(os.environ, ARMILLARY_HAPROXY_REAL="/bin/true")
    subprocess.run([wrapper, "-f", str(path), "-D"], env=env, check=True, timeout=30)
    return path.read_text()


def bind_lines(config: str) -> list[str]:
    return [line.strip() for line in config.splitlines() if line.strip().startswith("bind ")]


def test_side_listeners_move_to_loopback_and_frontends_keep_their_host(tmp_path: Path) -> None:
    out = run_wrapper(tmp_path, CONFIG)
    assert bind_lines(out) == [
        "bind 127.0.0.1:9101",
        "bind *:8000",
        "bind *:9000 proto h2",
        "bind 127.0.0.1:8404",
    ]
    # Nothing else in the file changes.
    def others(text: str) -> list[str]:
        return [line for line in text.splitlines() if "bind" not in line]

    assert others(out) == others(CONFIG)


def test_explicit_frontend_host_is_kept(tmp_path: Path) -> None:
    out = run_wrapper(tmp_path, CONFIG.replace("bind *:8000", "bind 127.0.0.1:8000"))
    assert "bind 127.0.0.1:8000" in bind_lines(out)


def test_missing_real_binary_is_a_clear_error(tmp_path: Path) -> None:
    wrapper = fast_proxy_environment()["RAY_SERVE_HAPROXY_BINARY_PATH"]
    env = {k: v for k, v in os.environ.items() if k != "ARMILLARY_HAPROXY_REAL"}
    proc = subprocess.run([wrapper, "-v"], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "ARMILLARY_HAPROXY_REAL" in proc.stderr
