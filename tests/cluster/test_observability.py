"""Prometheus config, alert rules (promtool check + promtool unit tests), the Grafana
dashboard, and the compose file (against the Compose Specification JSON schema; no Docker
engine runs here). Every metric named in an expression must exist: the ingress's own
(from IngressMetrics' real exposition) or one that the installed Ray exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import ray
import yaml
from jsonschema import Draft7Validator

from deployments.ingress.metrics import IngressMetrics
from tests.support import REPO_ROOT, missing

CONFIG = REPO_ROOT / "config"
PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "clamp_min", "min",
                "max", "avg", "le", "without", "on", "ignoring", "up"}


def ingress_metric_names() -> set[str]:
    metrics = IngressMetrics()
    metrics.observe("GET", "/x", 200, 0.01)
    metrics.set_health({"database": "ok"})
    text = metrics.exposition().decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
            if line and not line.startswith("#")}


def ray_metric_names() -> set[str]:
    """Metric names in the installed Ray: those its own Grafana panels query, plus Serve's
    counters/gauges/histograms as exported (ray_ prefix; _total, _bucket)."""
    root = Path(ray.__file__).parent
    names: set[str] = set()
    for path in (root / "dashboard" / "modules" / "metrics" / "dashboards").glob("*.py"):
        names |= set(re.findall(r"\bray_[a-z_]+", path.read_text()))
    pattern = re.compile(r"metrics\.(Counter|Gauge|Histogram)\(\s*\"([a-z_]+)\"")
    for path in (root / "serve" / "_private").glob("*.py"):
        for kind, name in pattern.findall(path.read_text()):
            suffix = {"Counter": "_total", "Histogram": "_bucket", "Gauge": ""}[kind]
            names.add(f"ray_{name}{suffix}")
    return names


KNOWN = ingress_metric_names() | ray_metric_names() | {"up"}


def metrics_in(expr: str) -> set[str]:
    stripped = re.sub(r"\{[^}]*\}", "", expr)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", stripped))
    return {w for w in words if w.startswith(("armillary_", "ray_")) or w == "up"} - (
        PROMQL_WORDS - {"up"})


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((CONFIG / "prometheus" / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_ingress_metrics_are_the_documented_ones() -> None:
    assert {"armillary_http_requests_total", "armillary_http_request_duration_seconds_bucket",
            "armillary_store_up"} <= KNOWN
    assert "ray_serve_deployment_replica_starts_total" in KNOWN
    assert "ray_serve_deployment_queued_queries" in KNOWN


def test_alert_rules_cover_the_required_conditions() -> None:
    rules = alert_rules()
    exprs = " ".join(r["expr"] for r in rules)
    for needed in ('status=~"5.."', "histogram_quantile(0.99",
                   "ray_serve_deployment_replica_starts_total",
                   "ray_serve_deployment_queued_queries", "armillary_store_up"):
        assert needed in exprs
    for rule in rules:
        assert rule["alert"] and rule["labels"]["severity"] in {"page", "warn"}
        assert rule["annotations"]["summary"]
        unknown = metrics_in(rule["expr"]) - KNOWN
        assert not unknown, f"{rule['alert']} names unknown metrics {unknown}"


def test_metric_check_would_catch_a_typo() -> None:
    assert metrics_in("sum(rate(armillary_http_request_total[5m]))") - KNOWN == {
        "armillary_http_request_total"}


def test_grafana_dashboard_queries_existing_metrics() -> None:
    dashboard = json.loads((CONFIG / "grafana" / "dashboards" / "armillary.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    named: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            found = metrics_in(target["expr"])
            assert found, f"{panel['title']}: no metric in {target['expr']}"
            assert not found - KNOWN, f"{panel['title']}: unknown {found - KNOWN}"
            named |= found
    assert {"armillary_http_requests_total", "armillary_store_up",
            "ray_serve_deployment_queued_queries"} <= named


def test_prometheus_scrapes_ingress_and_ray() -> None:
    config = yaml.safe_load((CONFIG / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["armillary-ingress"]["metrics_path"] == "/metrics"
    # /metrics is gated: Prometheus presents the token compose gives the suite
    token_file = jobs["armillary-ingress"]["authorization"]["credentials_file"]
    token = (CONFIG / "prometheus" / token_file).read_text()
    compose = yaml.safe_load((CONFIG / "compose.yaml").read_text())["services"]
    assert compose["armillary"]["environment"]["ARMILLARY_METRICS_TOKEN"] == token
    assert f"./prometheus/{token_file}:/etc/prometheus/{token_file}:ro" in (
        compose["prometheus"]["volumes"])
    assert jobs["ray"]["file_sd_configs"][0]["files"][0].endswith(
        "prom_metrics_service_discovery.json")
    assert config["rule_files"] == ["alerts.yml"]


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        missing("promtool not installed (Debian package 'prometheus')")
    assert found is not None
    return found


def test_promtool_checks_config_and_rules() -> None:
    tool = promtool()
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"]):
        done = subprocess.run([tool, *args], cwd=CONFIG / "prometheus", capture_output=True,
                              text=True, check=False, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_fire_every_alert() -> None:
    tool = promtool()
    tests = yaml.safe_load((CONFIG / "prometheus" / "alerts.test.yml").read_text())
    tested = {t["alertname"] for case in tests["tests"] for t in case["alert_rule_test"]
              if t.get("exp_alerts")}
    required = {"ArmillaryHighErrorRate", "ArmillaryHighLatencyP99", "ArmillaryStoreDown",
                "ArmillaryReplicaRestarts", "ArmillaryQueueDepth"}
    assert required <= tested
    done = subprocess.run([tool, "test", "rules", "alerts.test.yml"],
                          cwd=CONFIG / "prometheus", capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    tool = promtool()
    (tmp_path / "bad.yml").write_text(
        "groups:\n- name: x\n  rules:\n  - alert: Bad\n    expr: sum(rate(x[5m])\n")
    done = subprocess.run([tool, "check", "rules", str(tmp_path / "bad.yml")],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode != 0


COMPOSE_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "compose_spec.json")
                            .read_text())


def compose_errors(doc: object) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}"
            for e in Draft7Validator(COMPOSE_SCHEMA).iter_errors(doc)]


def test_compose_file_is_valid_and_complete() -> None:
    doc = yaml.safe_load((CONFIG / "compose.yaml").read_text())
    assert compose_errors(doc) == []
    services = doc["services"]
    assert {"postgres", "redis", "influxdb", "clickhouse", "nginx", "armillary",
            "prometheus", "grafana"} <= set(services)
    env = services["armillary"]["environment"]
    assert env["ARMILLARY_DATABASE_URL"].startswith("postgresql://")
    assert env["ARMILLARY_CACHE_URL"].startswith("redis://redis:")
    assert env["ARMILLARY_TIMESERIES_URL"].startswith("influxdb://influxdb:")
    assert env["ARMILLARY_WAREHOUSE_URL"].startswith("clickhouse://")
    for name, dep in services["armillary"]["depends_on"].items():
        assert dep["condition"] == "service_healthy" and "healthcheck" in services[name]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (CONFIG / source).exists(), f"compose mounts missing {source}"


def test_compose_schema_rejects_a_broken_file() -> None:
    doc = yaml.safe_load((CONFIG / "compose.yaml").read_text())
    doc["services"]["redis"]["ports"] = {"6379": "6379"}
    doc["services"]["nginx"]["restart_policy"] = "always"
    errors = compose_errors(doc)
    assert any("ports" in e for e in errors) and any("restart_policy" in e for e in errors)
