"""`armillary kube apply|status|scale` through the real `kubernetes` client against a
local HTTP server on 127.0.0.1 that replays Kubernetes API exchanges
(recordings/kube_api.json). Each flow is a strict sequence: a request that differs in
method, path or expected body fields fails the test; so does an unconsumed exchange."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cluster.cli import main
from cluster.kuberay import api, render
from cluster.kuberay.api import KubeError, KubeRay, make_api
from cluster.kuberay.schema import ManifestError
from config.settings import load_settings
from tests.cluster.kuberay_support import require_crds

RECORDINGS = json.loads((Path(__file__).parent / "recordings" / "kube_api.json").read_text())


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            _subset(e, a) for e, a in zip(expected, actual, strict=True))
    return bool(expected == actual)


class Replay:
    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.seen: list[tuple[str, str, Any]] = []

    def load(self, flow: str) -> None:
        self.script = list(RECORDINGS["flows"][flow])
        self.errors.clear()
        self.seen.clear()

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.seen.append((method, path, body))
        if not self.script:
            self.errors.append(f"unexpected extra request {method} {path}")
            return 500, {"message": "no recorded exchange left"}
        step = self.script.pop(0)
        want = step["request"]
        if (method, path) != (want["method"], want["path"]):
            self.errors.append(f"expected {want['method']} {want['path']}, got {method} {path}")
            return 500, {"message": "request does not match the recording"}
        if "body" in want and not _subset(want["body"], body):
            self.errors.append(f"{method} {path}: body lacks {want['body']}")
            return 500, {"message": "body does not match the recording"}
        return int(step["response"]["status"]), step["response"]["body"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Replay]]:
    replay = Replay()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, payload = replay.answer(self.command, self.path.split("?")[0], body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", replay
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture()
def kube(server: tuple[str, Replay]) -> KubeRay:
    require_crds()
    return KubeRay(make_api(server[0]), "armillary")


def finish(replay: Replay) -> None:
    assert replay.errors == []
    assert replay.script == [], f"recorded exchanges not used: {replay.script}"


def test_apply_creates_a_missing_cluster(kube: KubeRay, server: tuple[str, Replay]) -> None:
    replay = server[1]
    replay.load("apply_creates")
    manifest = render.research_cluster(load_settings())
    assert kube.apply(manifest) == "created"
    finish(replay)
    sent = replay.seen[1][2]
    assert sent["spec"]["workerGroupSpecs"][0]["groupName"] == "research"


def test_apply_replaces_with_the_seen_resource_version(kube: KubeRay,
                                                       server: tuple[str, Replay]) -> None:
    replay = server[1]
    replay.load("apply_replaces")
    manifest = render.ray_service(load_settings(), render.load_serve_config())
    assert kube.apply(manifest) == "replaced"
    finish(replay)


def test_status_summarises_the_resource(kube: KubeRay, server: tuple[str, Replay]) -> None:
    replay = server[1]
    replay.load("status")
    summary = kube.status("RayService", "armillary")
    finish(replay)
    assert summary["state"] == "Running"
    assert summary["groups"]["cpu"] == {"replicas": 1, "minReplicas": 1, "maxReplicas": 4}


def test_scale_sets_replicas(kube: KubeRay, server: tuple[str, Replay]) -> None:
    replay = server[1]
    replay.load("scale")
    result = kube.scale("RayCluster", "armillary-research", "research", 3)
    finish(replay)
    assert result == {"group": "research", "replicas": 3, "minReplicas": 0, "maxReplicas": 4}
    assert "status" not in replay.seen[1][2]


def test_scale_conflict_is_reported(kube: KubeRay, server: tuple[str, Replay]) -> None:
    replay = server[1]
    replay.load("scale_conflict")
    with pytest.raises(KubeError, match=r"409.*the object has been modified"):
        kube.scale("RayCluster", "armillary-research", "research", 2)
    finish(replay)


def test_scale_checks_bounds_and_groups(kube: KubeRay, server: tuple[str, Replay]) -> None:
    replay = server[1]
    replay.load("scale_out_of_bounds")
    with pytest.raises(KubeError, match=r"outside group 'research''s bounds \[0, 4\]"):
        kube.scale("RayCluster", "armillary-research", "research", 9)
    finish(replay)
    replay.load("scale_out_of_bounds")
    with pytest.raises(KubeError, match="no worker group 'gpu'"):
        kube.scale("RayCluster", "armillary-research", "gpu", 1)
    finish(replay)


def test_cli_against_the_replay(server: tuple[str, Replay],
                                capsys: pytest.CaptureFixture[str]) -> None:
    require_crds()
    url, replay = server
    replay.load("scale")
    assert main(["kube", "scale", "research", "3", "--kind", "RayCluster",
                 "--name", "armillary-research", "--host", url]) == 0
    assert json.loads(capsys.readouterr().out)["replicas"] == 3
    finish(replay)
    replay.load("forbidden")
    assert main(["kube", "status", "--host", url]) == 1
    err = capsys.readouterr().err
    assert "HTTP 403" in err and "cannot get resource" in err
    finish(replay)


def test_apply_refuses_to_change_an_immutable_field(kube: KubeRay,
                                                   server: tuple[str, Replay]) -> None:
    """The stored RayService is managed by Kueue; the rendered one by the operator (the CRD's
    rule `self == oldSelf` on managedBy): refused after the GET, no PUT is sent."""
    replay = server[1]
    replay.load("apply_replaces")
    get = copy.deepcopy(replay.script[0])
    get["response"]["body"]["spec"]["managedBy"] = "kueue.x-k8s.io/multikueue"
    replay.script = [get]
    manifest = render.ray_service(load_settings(), render.load_serve_config())
    manifest["spec"]["managedBy"] = "ray.io/kuberay-operator"
    with pytest.raises(ManifestError, match=r"spec\.managedBy: .*the managedBy field is immutable"):
        kube.apply(manifest)
    finish(replay)
    assert [method for method, _, _ in replay.seen] == ["GET"]


def test_scale_checks_the_change_against_the_stored_object(
        kube: KubeRay, server: tuple[str, Replay], monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[tuple[dict[str, Any], dict[str, Any]]] = []
    real = api.validate_update

    def spy(new: dict[str, Any], old: dict[str, Any]) -> None:
        checked.append((copy.deepcopy(new), copy.deepcopy(old)))
        real(new, old)

    monkeypatch.setattr(api, "validate_update", spy)
    replay = server[1]
    replay.load("scale")
    kube.scale("RayCluster", "armillary-research", "research", 3)
    finish(replay)
    ((new, old),) = checked
    assert new["spec"]["workerGroupSpecs"][0]["replicas"] == 3
    assert old["spec"]["workerGroupSpecs"][0]["replicas"] != 3 and "status" in old
