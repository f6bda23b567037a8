"""The KubeRay CRDs' CEL rules (x-kubernetes-validations) evaluated with cel-python on the
rendered manifests: every rule of the CRDs compiles, the rendered manifests pass, and a
manifest that breaks a rule — at creation, or by changing an immutable field on an
update — is rejected with the rule's message and the path of the offending value."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from cluster.cli import main
from cluster.kuberay.schema import (
    KINDS,
    ManifestError,
    _program,
    cel_problems,
    crd_openapi,
    problems,
    validate,
    validate_update,
)
from tests.cluster.kuberay_support import rendered_manifests

OPERATOR = "ray.io/kuberay-operator"
KUEUE = "kueue.x-k8s.io/multikueue"


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    return rendered_manifests()


def _rules(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [r["rule"] for r in node.get("x-kubernetes-validations", [])]
        return own + [r for v in node.values() for r in _rules(v)]
    if isinstance(node, list):
        return [r for v in node for r in _rules(v)]
    return []


def test_every_crd_rule_compiles(manifests: dict[str, dict[str, Any]]) -> None:
    for kind in KINDS:
        rules = _rules(crd_openapi(kind))
        assert any("oldSelf" in r for r in rules), f"{kind}: no transition rule found"
        for rule in rules:
            _program(rule)  # raises ManifestError if the rule does not parse


def test_rendered_manifests_pass_create_and_unchanged_update(
        manifests: dict[str, dict[str, Any]]) -> None:
    for manifest in manifests.values():
        assert cel_problems(manifest) == []
        assert cel_problems(manifest, old=copy.deepcopy(manifest)) == []
        managed = copy.deepcopy(manifest)
        managed["spec"]["managedBy"] = OPERATOR
        assert problems(managed) == []


def _job(manifests: dict[str, dict[str, Any]], strategy: dict[str, Any]) -> dict[str, Any]:
    job = copy.deepcopy(manifests["rayjob-ocr-batch.yaml"])
    job["spec"]["deletionStrategy"] = strategy
    return job


RULE = {"policy": "DeleteCluster", "condition": {"jobStatus": "SUCCEEDED"}}


@pytest.mark.parametrize(("strategy", "expected"), [
    ({"onSuccess": {"policy": "DeleteCluster"}, "deletionRules": [RULE]},
     r"spec\.deletionStrategy: .*legacy policies \(onSuccess/onFailure\) and deletionRules "
     r"cannot be used together"),
    ({"onSuccess": {"policy": "DeleteCluster"}},
     r"spec\.deletionStrategy: .*requires either BOTH onSuccess and onFailure"),
    ({"deletionRules": [{"policy": "DeleteCluster",
                         "condition": {"jobStatus": "FAILED", "jobDeploymentStatus": "Failed"}}]},
     r"spec\.deletionStrategy\.deletionRules\[0\]\.condition: .*JobStatus and "
     r"JobDeploymentStatus cannot be used together"),
    ({"deletionRules": [RULE, {"policy": "DeleteSelf", "condition": {"ttlSeconds": 60}}]},
     r"deletionRules\[1\]\.condition: .*requires either the JobStatus or the "
     r"JobDeploymentStatus"),
])
def test_rayjob_deletion_strategy_rules(manifests: dict[str, dict[str, Any]],
                                        strategy: dict[str, Any], expected: str) -> None:
    job = _job(manifests, strategy)
    with pytest.raises(ManifestError, match=expected):
        validate(job)


@pytest.mark.parametrize("strategy", [
    {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteNone"}},
    {"deletionRules": [RULE, {"policy": "DeleteSelf",
                              "condition": {"jobDeploymentStatus": "Failed"}}]},
])
def test_valid_deletion_strategies_pass(manifests: dict[str, dict[str, Any]],
                                        strategy: dict[str, Any]) -> None:
    assert problems(_job(manifests, strategy)) == []


def test_managed_by_value_is_checked(manifests: dict[str, dict[str, Any]]) -> None:
    service = copy.deepcopy(manifests["rayservice.yaml"])
    service["spec"]["managedBy"] = "someone-else"
    with pytest.raises(ManifestError, match=r"RayService/armillary: spec\.managedBy: .*must "
                                            r"be either 'ray.io/kuberay-operator'"):
        validate(service)
    # the same rule inside the cluster spec of a RayService
    service = copy.deepcopy(manifests["rayservice.yaml"])
    service["spec"]["rayClusterConfig"]["managedBy"] = "someone-else"
    assert any("spec.rayClusterConfig.managedBy" in p for p in problems(service))


def test_changing_an_immutable_field_is_rejected(manifests: dict[str, dict[str, Any]]) -> None:
    old = copy.deepcopy(manifests["raycluster-research.yaml"])
    old["spec"]["managedBy"] = OPERATOR
    new = copy.deepcopy(old)
    new["spec"]["managedBy"] = KUEUE
    validate(new)  # valid as a new object ...
    with pytest.raises(ManifestError, match=r"RayCluster/armillary-research: "
                                            r"spec\.managedBy: .*the managedBy field is immutable"):
        validate(new, old=old)  # ... but not as a change of the stored one
    with pytest.raises(ManifestError, match="immutable"):
        validate_update(new, old)
    # an unchanged field, a field set for the first time, a field removed: no transition
    assert cel_problems(old, old=old) == []
    unset = copy.deepcopy(old)
    del unset["spec"]["managedBy"]
    assert cel_problems(old, old=unset) == []
    assert cel_problems(unset, old=old) == []


def test_immutable_field_nested_in_a_rayservice(manifests: dict[str, dict[str, Any]]) -> None:
    old = copy.deepcopy(manifests["rayservice.yaml"])
    old["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"] = {
        "backend": "redis", "redisAddress": "redis:6379"}
    new = copy.deepcopy(old)
    new["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"]["backend"] = "rocksdb"
    assert problems(new) == []
    found = cel_problems(new, old=old)
    assert found == ["RayService/armillary: spec.rayClusterConfig.gcsFaultToleranceOptions."
                     "backend: Invalid value: gcsFaultToleranceOptions.backend is immutable "
                     "(rule: self == oldSelf)"]
    # a scale-like change elsewhere keeps the backend: accepted
    scaled = copy.deepcopy(old)
    scaled["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["replicas"] = 3
    assert cel_problems(scaled, old=old) == []


def test_unchanged_invalid_value_is_ratcheted(manifests: dict[str, dict[str, Any]]) -> None:
    """An update that leaves a (now) invalid value as it was passes, as on the API server
    (validation ratcheting); changing it, or creating it, is checked."""
    stored = copy.deepcopy(manifests["raycluster-research.yaml"])
    stored["spec"]["managedBy"] = "legacy-controller"
    assert any("must be either" in p for p in cel_problems(stored))
    scaled = copy.deepcopy(stored)
    scaled["spec"]["workerGroupSpecs"][0]["replicas"] = 2
    assert cel_problems(scaled, old=stored) == []


def test_cli_apply_rejects_a_cel_violation_before_any_request(
        manifests: dict[str, dict[str, Any]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    bad = tmp_path / "job.yaml"
    job = _job(manifests, {"onSuccess": {"policy": "DeleteCluster"}, "deletionRules": [RULE]})
    bad.write_text(yaml.safe_dump(job))
    # port 9 (discard): nothing listens; the error must come before any request
    assert main(["kube", "apply", str(bad), "--host", "http://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert "cannot be used together" in err and "spec.deletionStrategy" in err
