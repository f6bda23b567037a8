"""The nginx gateway against a real nginx (Debian's) in front of a real upstream (uvicorn
serving tests/cluster/upstream_app.py): TLS, redirect, routing, WebSocket, limits."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cluster import gateway
from cluster.cli import main
from tests.services import free_port, port_open
from tests.support import REPO_ROOT, missing


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if found is None:
        missing("nginx not installed (Debian package nginx / nginx-light)")
    assert found is not None
    return found


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text()[-2000:]}")
        if port_open("127.0.0.1", port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not listening on {port}")


@dataclass
class Gateway:
    http_port: int
    https_port: int
    cert: Path
    prefix: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, verify=self.tls(), timeout=10)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    log = tmp_path_factory.mktemp("upstream") / "uvicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.cluster.upstream_app:app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=REPO_ROOT, stdout=out, stderr=out)
    try:
        _wait_port(port, proc, "uvicorn", log)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def start_nginx(prefix: Path, upstream_port: int, static_root: Path) -> tuple[
        subprocess.Popen[bytes], Gateway]:
    binary = nginx_binary()
    cert, key = prefix / "tls" / "cert.pem", prefix / "tls" / "key.pem"
    gateway.make_dev_certificate(cert, key)
    config = gateway.GatewayConfig(
        prefix=prefix, upstream=f"127.0.0.1:{upstream_port}", cert_file=cert, key_file=key,
        http_port=free_port(), https_port=free_port(), listen_host="127.0.0.1",
        static_root=static_root, max_body="1k", rate_per_second=20, burst=20,
        run_as_root=os.geteuid() == 0)
    conf = gateway.write(config)
    checked = subprocess.run([binary, "-t", "-p", str(prefix), "-c", str(conf)],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    log = prefix / "logs" / "error.log"
    proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_port(config.https_port, proc, "nginx", log)
    return proc, Gateway(config.http_port, config.https_port, cert, prefix)


def stop_nginx(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: int) -> Iterator[Gateway]:
    static = tmp_path_factory.mktemp("dist")
    (static / "index.html").write_text("<!doctype html><title>armillary</title><div id=root>")
    (static / "assets").mkdir()
    (static / "assets" / "app.js").write_text("console.log('armillary')")
    proc, gate = start_nginx(tmp_path_factory.mktemp("nginx"), upstream, static)
    try:
        yield gate
    finally:
        stop_nginx(proc)


def test_http_redirects_to_https(gw: Gateway) -> None:
    r = httpx.get(f"http://127.0.0.1:{gw.http_port}/api/v1/echo?x=1", follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == f"https://127.0.0.1:{gw.https_port}/api/v1/echo?x=1"


def test_tls_is_terminated_with_the_dev_certificate(gw: Gateway) -> None:
    with gw.client() as client:
        assert client.get("/api/v1/echo").status_code == 200
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{gw.base}/api/v1/echo", verify=ssl.create_default_context())


def test_api_is_proxied_with_forwarding_headers_and_security_headers(gw: Gateway) -> None:
    with gw.client() as client:
        r = client.post("/api/v1/things?q=1", content=b"x" * 100)
    assert r.status_code == 200
    seen = r.json()
    assert seen["path"] == "/api/v1/things" and seen["method"] == "POST"
    assert seen["body_bytes"] == 100
    assert seen["headers"]["x-forwarded-proto"] == "https"
    assert seen["headers"]["x-real-ip"] == "127.0.0.1"
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp


def test_static_files_and_spa_fallback(gw: Gateway) -> None:
    with gw.client() as client:
        index = client.get("/")
        script = client.get("/assets/app.js")
        deep = client.get("/reports/42")
        absent_asset = client.get("/assets/missing.js")
    assert index.status_code == 200 and "armillary" in index.text
    assert index.headers["x-frame-options"] == "DENY"
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert deep.status_code == 200 and "<div id=root>" in deep.text
    assert absent_asset.status_code == 200  # SPA fallback also answers unknown paths


def test_body_limit_413(gw: Gateway) -> None:
    with gw.client() as client:
        r = client.post("/api/v1/upload", content=b"x" * 4096)
    assert r.status_code == 413
    assert "too large" in r.json()["detail"]


def test_websocket_through_the_proxy(gw: Gateway) -> None:
    from websockets.sync.client import connect

    with connect(f"wss://127.0.0.1:{gw.https_port}/ws/echo", ssl=gw.tls(),
                 open_timeout=10) as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "echo:hello"
        ws.send("again")
        assert ws.recv(timeout=10) == "echo:again"


def test_rate_limit_429_per_ip(gw: Gateway) -> None:
    time.sleep(1.5)  # let the bucket refill after the earlier tests
    with gw.client() as client, ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: client.get("/api/v1/echo").status_code, range(80)))
        limited = client.get("/api/v1/echo")
    assert codes.count(200) >= 20
    assert 429 in codes
    assert set(codes) <= {200, 429}
    if limited.status_code == 429:
        assert limited.json()["detail"] == "too many requests"
    time.sleep(1.5)
    with gw.client() as client:
        assert client.get("/api/v1/echo").status_code == 200


def test_missing_web_build_is_404_not_an_error(tmp_path: Path, upstream: int) -> None:
    proc, gate = start_nginx(tmp_path / "nginx", upstream, tmp_path / "no-dist")
    try:
        with gate.client() as client:
            assert client.get("/").status_code == 404
            assert client.get("/some/page").status_code == 404
            assert client.get("/api/v1/echo").status_code == 200
    finally:
        stop_nginx(proc)


def test_render_rejects_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="https_port"):
        gateway.GatewayConfig(prefix=tmp_path, upstream="127.0.0.1:8000",
                              cert_file=tmp_path / "c", key_file=tmp_path / "k",
                              https_port=70_000)
    with pytest.raises(ValueError, match="host:port"):
        gateway.GatewayConfig(prefix=tmp_path, upstream="serve",
                              cert_file=tmp_path / "c", key_file=tmp_path / "k")


def test_cli_cert_and_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gateway", "cert", "--out", str(tmp_path / "tls")]) == 0
    assert (tmp_path / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
    assert main(["gateway", "render", "--prefix", str(tmp_path)]) == 0
    text = (tmp_path / "nginx.conf").read_text()
    assert "${" not in text and str(tmp_path / "tls" / "cert.pem") in text
    assert main(["gateway", "render", "--prefix", str(tmp_path / "c"), "--container"]) == 0
    text = (tmp_path / "c" / "nginx.conf").read_text()
    assert "server armillary:8000;" in text and "root /srv/web;" in text
    assert main(["gateway", "cert", "--out", str(tmp_path), "--days", "0"]) == 1
    assert "--days" in capsys.readouterr().err
