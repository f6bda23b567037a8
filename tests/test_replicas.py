"""Replica settings have one source, config/replicas.py: config/serve.yaml is generated from
it, the KubeRay RayService embeds that file, and what `armillary up` deploys (build_app's
Application) carries the same options; the settings override them where they do (the
ingress's and the crypto replica's). README's CPU figures are the table's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from ray.serve._private.constants import DEFAULT_AUTOSCALING_POLICY_NAME

from cluster.kuberay import render
from config.replicas import (
    REPLICAS,
    SERVE_YAML,
    Autoscaling,
    Replicas,
    main,
    replica_table,
    reserved_cpus,
    serve_yaml,
)
from config.settings import Settings, load_settings
from tests.cluster.kuberay_support import require_crds
from tests.support import REPO_ROOT

OVERRIDES = ("INGRESS_NUM_CPUS", "INGRESS_MIN_REPLICAS", "INGRESS_MAX_REPLICAS",
             "INGRESS_MAX_ONGOING_REQUESTS", "CRYPTO_NUM_CPUS")
REPLICA_KEYS = ("num_replicas", "max_ongoing_requests", "graceful_shutdown_timeout_s",
                "graceful_shutdown_wait_loop_s", "health_check_period_s")


@pytest.fixture
def default_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No replica setting comes from the environment or a settings file."""
    for name in OVERRIDES:
        monkeypatch.delenv(f"ARMILLARY_{name}", raising=False)
    monkeypatch.setenv("ARMILLARY_SETTINGS_FILE", "/nonexistent/armillary.env")
    yield


def by_name(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (app,) = config["applications"]
    return {d["name"]: d for d in app["deployments"]}


def deployed(app: Any) -> dict[str, dict[str, Any]]:
    """The Serve options of every deployment of a built Application, in serve.yaml's terms."""
    out: dict[str, dict[str, Any]] = {}
    pending = [app]
    while pending:
        deployment = pending.pop()._bound_deployment
        pending += [v for v in deployment.init_kwargs.values() if hasattr(v, "_bound_deployment")]
        config = deployment._deployment_config
        entry = {key: getattr(config, key) for key in REPLICA_KEYS}
        entry["num_cpus"] = deployment._replica_config.ray_actor_options.get("num_cpus")
        scaling = config.autoscaling_config
        if scaling is not None:
            entry |= {"min_replicas": scaling.min_replicas, "max_replicas": scaling.max_replicas,
                      "target_ongoing_requests": scaling.target_ongoing_requests,
                      "policy": scaling.policy.policy_function}
        out[deployment.name] = entry
    return out


def wanted(entry: dict[str, Any]) -> dict[str, Any]:
    """A serve.yaml entry in the terms of `deployed` (only what the entry sets)."""
    out = {key: entry[key] for key in REPLICA_KEYS if key in entry}
    out["num_cpus"] = entry["ray_actor_options"]["num_cpus"]
    scaling = entry.get("autoscaling_config")
    if scaling is not None:
        out |= {k: scaling[k] for k in ("min_replicas", "max_replicas",
                                        "target_ongoing_requests")}
        out["policy"] = scaling.get("policy", {}).get(
            "policy_function", DEFAULT_AUTOSCALING_POLICY_NAME)
    return out


def test_serve_yaml_is_generated_from_the_table() -> None:
    assert SERVE_YAML == REPO_ROOT / "config" / "serve.yaml"
    assert SERVE_YAML.read_text() == serve_yaml(), "run `python -m config.replicas --write`"
    assert main(["--check"]) == 0
    config = yaml.safe_load(SERVE_YAML.read_text())
    assert list(by_name(config)) == list(REPLICAS)
    render.validate_serve_config(config)


def test_serve_yaml_the_kuberay_service_and_armillary_up_agree(default_env: None) -> None:
    from deployments.app import AppArgs, build_app

    require_crds()
    from_file = by_name(yaml.safe_load(SERVE_YAML.read_text()))
    service = render.render_all(load_settings())["rayservice.yaml"]
    from_kube = by_name(yaml.safe_load(service["spec"]["serveConfigV2"]))
    assert from_kube == from_file
    up = deployed(build_app(AppArgs()))
    assert sorted(up) == sorted(from_file)
    for name, entry in from_file.items():
        got = {key: up[name][key] for key in wanted(entry)}
        assert got == wanted(entry), name
    # the module-level deployments (`serve run deployments.ocr.deployment:OcrDeployment`)
    from deployments.ocr.deployment import OcrDeployment

    assert OcrDeployment._deployment_config.autoscaling_config.policy.policy_function == \
        from_file["Ocr"]["autoscaling_config"]["policy"]["policy_function"]


def test_settings_and_app_args_override_the_table(monkeypatch: pytest.MonkeyPatch,
                                                  default_env: None) -> None:
    from deployments.app import AppArgs, build_app

    monkeypatch.setenv("ARMILLARY_CRYPTO_NUM_CPUS", "0.5")
    monkeypatch.setenv("ARMILLARY_INGRESS_MAX_REPLICAS", "3")
    monkeypatch.setenv("ARMILLARY_INGRESS_MAX_ONGOING_REQUESTS", "10")
    up = deployed(build_app(AppArgs(ingress_num_cpus=0.125)))
    assert up["Crypto"]["num_cpus"] == 0.5
    assert up["Ingress"].items() >= {"num_cpus": 0.125, "min_replicas": 1, "max_replicas": 3,
                                     "max_ongoing_requests": 10,
                                     "target_ongoing_requests": 5}.items()
    assert up["Ocr"]["num_cpus"] == REPLICAS["Ocr"].num_cpus
    args = AppArgs(ingress_min_replicas=4)  # the max follows a larger min
    assert deployed(build_app(args))["Ingress"]["max_replicas"] == 4


def test_settings_default_to_the_table() -> None:
    settings = Settings(environment="test")
    assert replica_table(settings) == REPLICAS
    assert replica_table() == REPLICAS


def test_the_readme_states_the_cpus_the_table_reserves() -> None:
    low, high = reserved_cpus(REPLICAS.values(), "min"), reserved_cpus(REPLICAS.values(), "max")
    assert (low, high) == (1.05, 1.85)
    assert high < Settings.model_fields["ray_num_cpus"].default
    readme = " ".join((REPO_ROOT / "README.md").read_text().split())
    assert f"({low:g} of 2 at minimum scale, {high:g} at maximum)" in readme
    workloads = " ".join((REPO_ROOT / "config" / "workloads.py").read_text().split())
    assert f"{low:g} of 2 at minimum scale, {high:g} at maximum" in workloads


def test_a_row_is_checked() -> None:
    with pytest.raises(ValueError, match="either autoscaling or num_replicas"):
        Replicas("X", num_cpus=0.1, max_ongoing_requests=1)
    with pytest.raises(ValueError, match="min_replicas <= max_replicas"):
        Autoscaling(2, 1, target_ongoing_requests=1)
    row = Replicas("X", 0.1, 4, autoscaling=Autoscaling(1, 3, 2, policy="a.b"))
    assert row.options() == {
        "max_ongoing_requests": 4, "ray_actor_options": {"num_cpus": 0.1},
        "autoscaling_config": {"min_replicas": 1, "max_replicas": 3,
                               "target_ongoing_requests": 2,
                               "policy": {"policy_function": "a.b"}}}
    assert reserved_cpus([row], "max") == 0.3
