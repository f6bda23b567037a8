"""Render the suite's KubeRay manifests from `Settings` and ``config/serve.yaml``:

- RayService ``armillary``: serveConfigV2 = config/serve.yaml as read now (the same Serve
  config `serve deploy` uses locally, generated from the replica table config/replicas.py;
  tests/test_replicas.py checks all three agree), a head group and an autoscaled CPU worker
  group;
- RayCluster ``armillary-research``: an autoscaled cluster researchers submit jobs to;
- RayJobs ``armillary-ocr-batch``, ``armillary-crypto-tune``, ``armillary-analytics-train``:
  the `cluster.jobs` presets, each on its own short-lived cluster.

Secrets never appear here: pods read ``ARMILLARY_*`` from the Secret ``armillary-settings``
(see cluster/kuberay/README.md). Ray token auth is on (``authOptions.mode: token``).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cluster.jobs import PRESETS
from cluster.kuberay.schema import validate, validate_serve_config
from config.settings import Settings
from config.workloads import node_resources

RAY_VERSION = "2.60.0"
SERVE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "serve.yaml"
SETTINGS_SECRET = "armillary-settings"  # noqa: S105 - a Secret's name
DATA_CLAIM = "armillary-data"


@dataclass(frozen=True)
class Group:
    """A worker group: its size bounds and per-pod resources."""

    name: str
    min_replicas: int
    max_replicas: int
    cpu: str
    memory: str

    def __post_init__(self) -> None:
        if not 0 <= self.min_replicas <= self.max_replicas:
            raise ValueError(f"group {self.name}: need 0 <= min_replicas <= max_replicas")


SERVE_WORKERS = Group("cpu", 1, 4, cpu="2", memory="4Gi")
RESEARCH_WORKERS = Group("research", 0, 4, cpu="4", memory="8Gi")
JOB_WORKERS = Group("cpu", 1, 2, cpu="2", memory="4Gi")

# Arguments of the batch/training RayJobs: paths on the shared data volume (/data).
JOB_ARGS: dict[str, list[str]] = {
    "ocr-batch": ["/data/ocr/in", "/data/ocr/out", "--no-progress"],
    "crypto-tune": ["--data", "/data/crypto/ohlcv.csv", "--storage-path", "/data/tune",
                    "--num-cpus", "2"],
    "analytics-train": ["--data-dir", "/data/analytics", "--out", "/data/artifacts/analytics"],
}


def load_serve_config(path: Path = SERVE_CONFIG) -> dict[str, Any]:
    """config/serve.yaml, validated against Ray's ServeDeploySchema."""
    if not path.is_file():
        raise FileNotFoundError(f"Serve config not found: {path}")
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a mapping")
    validate_serve_config(config)
    return config


def _env(settings: Settings) -> list[dict[str, str]]:
    env = {
        "ARMILLARY_ENVIRONMENT": settings.environment.value,
        "ARMILLARY_DATA_DIR": "/data",
        "OMP_THREAD_LIMIT": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    if settings.fast_proxy:
        env |= {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
                "RAY_SERVE_HAPROXY_MAXCONN": str(settings.haproxy_maxconn),
                "RAY_SERVE_HAPROXY_TIMEOUT_CLIENT_S": str(settings.haproxy_timeout_client_s)}
    return [{"name": k, "value": v} for k, v in env.items()]


def _container(settings: Settings, name: str, cpu: str, memory: str,
               ports: list[tuple[str, int]]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": settings.image,
        "imagePullPolicy": "IfNotPresent",
        "env": _env(settings),
        "envFrom": [{"secretRef": {"name": SETTINGS_SECRET, "optional": True}}],
        "resources": {"requests": {"cpu": cpu, "memory": memory},
                      "limits": {"cpu": cpu, "memory": memory}},
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    if ports:
        container["ports"] = [{"name": n, "containerPort": p} for n, p in ports]
    return container


def _pod(container: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {
        "containers": [container],
        "volumes": [{"name": "data",
                     "persistentVolumeClaim": {"claimName": DATA_CLAIM}}],
    }}


def _batch_pool(group: Group) -> str:
    """The worker group's batch pool (config.workloads) as KubeRay wants ``resources``: a
    JSON object inside a quoted string."""
    return json.dumps(json.dumps(node_resources(float(group.cpu))))


def cluster_spec(settings: Settings, workers: Group, head_cpu: str = "2",
                 head_memory: str = "4Gi", serve: bool = False) -> dict[str, Any]:
    head_ports = [("gcs", 6379), ("dashboard", 8265), ("client", 10001), ("metrics", 8080)]
    if serve:
        head_ports.append(("serve", 8000))
    spec = _cluster_spec(settings, workers, head_cpu, head_memory, head_ports)
    if serve and settings.kube_gcs_redis:
        # GCS fault tolerance: the head's state lives in Redis, so a restarted head pod
        # takes the cluster back while the workers (and their Serve replicas) keep serving
        spec["gcsFaultToleranceOptions"] = {
            "redisAddress": settings.kube_gcs_redis,
            "redisPassword": {"valueFrom": {"secretKeyRef": {
                "name": SETTINGS_SECRET, "key": "RAY_REDIS_PASSWORD", "optional": True}}},
            "externalStorageNamespace": f"{settings.kube_namespace}-armillary",
        }
    return spec


def _cluster_spec(settings: Settings, workers: Group, head_cpu: str, head_memory: str,
                  head_ports: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "rayVersion": RAY_VERSION,
        "enableInTreeAutoscaling": True,
        "autoscalerOptions": {"upscalingMode": "Default", "idleTimeoutSeconds": 120},
        "authOptions": {"mode": "token"},
        "headGroupSpec": {
            # the head schedules no work (num-cpus 0): replicas and tasks go to workers
            "rayStartParams": {"dashboard-host": "0.0.0.0",  # noqa: S104 - pod network
                               "num-cpus": "0", "metrics-export-port": "8080"},
            "template": _pod(_container(settings, "ray-head", head_cpu, head_memory,
                                        head_ports)),
        },
        "workerGroupSpecs": [{
            "groupName": workers.name,
            "replicas": workers.min_replicas,
            "minReplicas": workers.min_replicas,
            "maxReplicas": workers.max_replicas,
            "rayStartParams": {"metrics-export-port": "8080", "resources": _batch_pool(workers)},
            "template": _pod(_container(settings, "ray-worker", workers.cpu, workers.memory,
                                        [("metrics", 8080)])),
        }],
    }


def _metadata(settings: Settings, name: str, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": settings.kube_namespace,
            "labels": {"app.kubernetes.io/name": "armillary",
                       "app.kubernetes.io/component": component}}


def ray_service(settings: Settings, serve_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": _metadata(settings, "armillary", "serve"),
        "spec": {
            "serveConfigV2": yaml.safe_dump(serve_config, sort_keys=False),
            "rayClusterConfig": cluster_spec(settings, SERVE_WORKERS, serve=True),
        },
    }


def research_cluster(settings: Settings) -> dict[str, Any]:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": _metadata(settings, "armillary-research", "research"),
        "spec": cluster_spec(settings, RESEARCH_WORKERS),
    }


def ray_job(settings: Settings, preset: str, args: list[str] | None = None) -> dict[str, Any]:
    spec = PRESETS[preset]
    entry = spec.entrypoint(JOB_ARGS[preset] if args is None else args)
    runtime_env = {"env_vars": dict(spec.env_vars)}
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": _metadata(settings, f"armillary-{preset}", "job"),
        "spec": {
            "entrypoint": entry,
            "runtimeEnvYAML": yaml.safe_dump(runtime_env),
            "metadata": {"preset": preset},
            "submissionMode": "K8sJobMode",
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 600,
            "backoffLimit": 0,
            "rayClusterSpec": cluster_spec(settings, JOB_WORKERS),
        },
    }


def render_all(settings: Settings, serve_path: Path = SERVE_CONFIG) -> dict[str, dict[str, Any]]:
    """Every manifest by file name, each validated (ManifestError on any violation)."""
    manifests = {
        "rayservice.yaml": ray_service(settings, load_serve_config(serve_path)),
        "raycluster-research.yaml": research_cluster(settings),
        **{f"rayjob-{name}.yaml": ray_job(settings, name) for name in JOB_ARGS},
    }
    for manifest in manifests.values():
        validate(manifest)
    return manifests


def write(manifests: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, manifest in manifests.items():
        path = out / name
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        written.append(path)
    return written


def as_stream(manifests: dict[str, dict[str, Any]]) -> str:
    """Every manifest as one YAML stream (``---`` between documents, each headed by the
    file name `write` would give it), for ``kubectl apply -f -``."""
    return "".join(f"---\n# {name}\n" + yaml.safe_dump(manifest, sort_keys=False)
                   for name, manifest in manifests.items())


def entrypoint_words(manifest: dict[str, Any]) -> list[str]:
    return shlex.split(manifest["spec"]["entrypoint"])
