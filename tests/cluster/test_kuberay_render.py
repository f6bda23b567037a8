"""KubeRay manifests: rendered from the settings and config/serve.yaml, valid against the
KubeRay CRDs (v1 openAPIV3Schema) and Ray's ServeDeploySchema; broken ones rejected."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.cli import main
from cluster.kuberay import render
from cluster.kuberay.schema import ManifestError, problems, to_json_schema, validate
from config.settings import load_settings
from tests.cluster.kuberay_support import require_crds
from tests.support import REPO_ROOT


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    require_crds()
    return render.render_all(load_settings(image="registry.example/armillary:1.2.3"))


def test_every_manifest_is_valid(manifests: dict[str, dict[str, Any]]) -> None:
    kinds = sorted(m["kind"] for m in manifests.values())
    assert kinds == ["RayCluster", "RayJob", "RayJob", "RayJob", "RayService"]
    for manifest in manifests.values():
        assert problems(manifest) == []


def test_rayservice_embeds_the_local_serve_config(manifests: dict[str, dict[str, Any]]) -> None:
    service = manifests["rayservice.yaml"]
    embedded = yaml.safe_load(service["spec"]["serveConfigV2"])
    assert embedded == yaml.safe_load((REPO_ROOT / "config" / "serve.yaml").read_text())
    cluster = service["spec"]["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert cluster["authOptions"] == {"mode": "token"}
    assert cluster["rayVersion"] == "2.60.0"
    # the head schedules no work: Serve replicas and tasks go to the workers
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    head = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert head["image"] == "registry.example/armillary:1.2.3"
    assert head["resources"]["requests"]["cpu"] and head["resources"]["limits"]["memory"]
    assert {"name": "serve", "containerPort": 8000} in head["ports"]
    (worker,) = cluster["workerGroupSpecs"]
    assert 0 < worker["minReplicas"] <= worker["replicas"] <= worker["maxReplicas"]
    assert worker["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]


def test_renderer_reads_serve_yaml_not_a_copy(tmp_path: Path) -> None:
    config = yaml.safe_load((REPO_ROOT / "config" / "serve.yaml").read_text())
    config["applications"][0]["deployments"].append(
        {"name": "Newcomer", "ray_actor_options": {"num_cpus": 0.1}})
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(config))
    out = render.render_all(load_settings(), serve_path=path)
    names = [d["name"] for d in yaml.safe_load(out["rayservice.yaml"]["spec"]["serveConfigV2"])
             ["applications"][0]["deployments"]]
    assert "Newcomer" in names


def test_jobs_run_the_presets(manifests: dict[str, dict[str, Any]]) -> None:
    words = render.entrypoint_words(manifests["rayjob-ocr-batch.yaml"])
    assert words[:3] == ["python", "-m", "training.batch_ocr"] and len(words) >= 5
    for name in ("crypto-tune", "analytics-train"):
        job = manifests[f"rayjob-{name}.yaml"]
        assert job["spec"]["shutdownAfterJobFinishes"] is True
        assert render.entrypoint_words(job)[2] == f"training.{name.replace('-', '_')}"


@pytest.mark.parametrize(("breakage", "expected"), [
    (lambda m: m["spec"].__setitem__("workerGroupSpec", []), "workerGroupSpec' was unexpected"),
    (lambda m: m["spec"]["workerGroupSpecs"][0].__setitem__("maxReplicas", "four"),
     "maxReplicas"),
    (lambda m: m["spec"]["workerGroupSpecs"][0].pop("groupName"), "groupName"),
    (lambda m: m["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]
     ["limits"].__setitem__("cpu", [2]), "cpu"),
    (lambda m: m["spec"]["authOptions"].__setitem__("mode", "password"), "mode"),
    (lambda m: m.__setitem__("apiVersion", "ray.io/v1alpha0"), "apiVersion"),
    (lambda m: m["metadata"].__setitem__("name", "Research_Cluster"), "DNS-1123"),
])
def test_broken_cluster_is_rejected(manifests: dict[str, dict[str, Any]], breakage: Any,
                                    expected: str) -> None:
    broken = copy.deepcopy(manifests["raycluster-research.yaml"])
    breakage(broken)
    with pytest.raises(ManifestError, match=expected):
        validate(broken)


def test_int_or_string_accepts_both(manifests: dict[str, dict[str, Any]]) -> None:
    ok = copy.deepcopy(manifests["raycluster-research.yaml"])
    limits = ok["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]
    limits["limits"]["cpu"] = 2
    limits["requests"]["cpu"] = "500m"
    assert problems(ok) == []
    node = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"},
                                                          {"type": "string"}]}
    assert to_json_schema(node) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}


def test_broken_serve_config_is_rejected(manifests: dict[str, dict[str, Any]]) -> None:
    broken = copy.deepcopy(manifests["rayservice.yaml"])
    config = yaml.safe_load(broken["spec"]["serveConfigV2"])
    config["applications"][0]["deployments"][0]["max_ongoing_requests"] = "lots"
    broken["spec"]["serveConfigV2"] = yaml.safe_dump(config)
    with pytest.raises(ManifestError, match="ServeDeploySchema"):
        validate(broken)
    duplicate = copy.deepcopy(config)
    duplicate["applications"][0]["deployments"][0]["max_ongoing_requests"] = 8
    duplicate["applications"].append(copy.deepcopy(duplicate["applications"][0]))
    broken["spec"]["serveConfigV2"] = yaml.safe_dump(duplicate)
    with pytest.raises(ManifestError, match="serveConfigV2"):
        validate(broken)


def test_cli_render_prints_yaml_by_default_and_with_out_dash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """stdout, as kubectl users expect; no ../shared needed (the CRD schemas are packed); no
    directory made, not even one named '-'."""
    monkeypatch.setenv("ARMILLARY_SHARED_DIR", str(tmp_path / "no-shared"))
    monkeypatch.delenv("ARMILLARY_KUBERAY_CRDS", raising=False)
    monkeypatch.chdir(tmp_path)
    for argv in (["kube", "render"], ["kube", "render", "--out", "-"]):
        assert main(argv) == 0
        docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d is not None]
        assert sorted(d["kind"] for d in docs) == ["RayCluster", "RayJob", "RayJob", "RayJob",
                                                   "RayService"]
        for doc in docs:
            validate(doc)
    assert list(tmp_path.iterdir()) == []


def test_packed_crd_schemas_are_the_crd_files() -> None:
    """cluster/kuberay/crds.json.gz is what `python -m cluster.kuberay.schema --pack` makes
    of ../shared/kuberay/crds (regenerate it when the CRDs change)."""
    from cluster.kuberay.schema import KINDS, crd_dir, packed_schemas, read_crd_file
    from tests.cluster.kuberay_support import require_crd_files

    require_crd_files()
    for kind in KINDS:
        assert packed_schemas()[kind] == read_crd_file(crd_dir(), kind), kind


def test_cli_render_writes_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_crds()
    assert main(["kube", "render", "--out", str(tmp_path)]) == 0
    files = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert files == sorted(["rayservice.yaml", "raycluster-research.yaml",
                            "rayjob-ocr-batch.yaml", "rayjob-crypto-tune.yaml",
                            "rayjob-analytics-train.yaml"])
    for path in tmp_path.glob("*.yaml"):
        validate(yaml.safe_load(path.read_text()))
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: x}\nspec: {}\n")
    assert main(["kube", "apply", str(bad), "--host", "http://127.0.0.1:9"]) == 1
    assert "headGroupSpec" in capsys.readouterr().err


def test_workers_offer_the_batch_pool_and_the_head_keeps_its_state_in_redis(
        manifests: dict[str, dict[str, Any]]) -> None:
    import json

    from config.workloads import BATCH, BATCH_TASKS

    service = manifests["rayservice.yaml"]["spec"]["rayClusterConfig"]
    worker = service["workerGroupSpecs"][0]
    pool = json.loads(json.loads(worker["rayStartParams"]["resources"]))
    cpus = float(worker["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"])
    assert pool == {BATCH: 2 * cpus, BATCH_TASKS: 4 * cpus}
    ft = service["gcsFaultToleranceOptions"]
    assert ft["redisAddress"] == load_settings().kube_gcs_redis
    assert ft["redisPassword"]["valueFrom"]["secretKeyRef"]["name"] == render.SETTINGS_SECRET
    # research and job clusters are short-lived: no GCS fault tolerance there
    assert "gcsFaultToleranceOptions" not in manifests["raycluster-research.yaml"]["spec"]
