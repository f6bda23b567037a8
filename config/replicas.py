"""Replica settings of every Serve deployment, in one table (:data:`REPLICAS`).

Everything that deploys the suite reads it:

- each ``deployments/<name>/deployment.py`` declares its deployment with
  ``Replicas.options()`` of its row;
- ``deployments/app.py`` (``armillary up``, ``serve run``) applies them again with the
  settings' overrides (:func:`replica_table`: ``ARMILLARY_INGRESS_NUM_CPUS``,
  ``..._MIN_REPLICAS``, ``..._MAX_REPLICAS``, ``..._MAX_ONGOING_REQUESTS``,
  ``ARMILLARY_CRYPTO_NUM_CPUS``, whose defaults are this table's values);
- ``config/serve.yaml`` (``serve deploy``; KubeRay's serveConfigV2, rendered by
  ``cluster/kuberay/render.py``) is generated from it: ``python -m config.replicas --write``
  after editing the table, ``python -m config.replicas --check`` (and tests/test_replicas.py)
  fail while the file differs.

Serve replicas take the *serving pool* (logical CPUs, ``config/workloads.py``) at explicit
fractions: :func:`reserved_cpus` is what the table reserves at minimum and maximum scale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

if TYPE_CHECKING:
    from config.settings import Settings


@dataclass(frozen=True)
class Autoscaling:
    """Serve's ``autoscaling_config`` of a deployment."""

    min_replicas: int
    max_replicas: int
    target_ongoing_requests: int
    policy: str | None = None
    """Import path of a custom policy function (``module.function``); None: Serve's."""
    upscale_delay_s: float | None = None
    """None: Serve's default (30 s)."""
    downscale_delay_s: float | None = None
    """None: Serve's default (600 s)."""

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas or self.target_ongoing_requests < 1:
            raise ValueError("need 1 <= min_replicas <= max_replicas, target >= 1")

    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"min_replicas": self.min_replicas,
                               "max_replicas": self.max_replicas,
                               "target_ongoing_requests": self.target_ongoing_requests}
        if self.policy is not None:
            out["policy"] = {"policy_function": self.policy}
        for delay in ("upscale_delay_s", "downscale_delay_s"):
            if getattr(self, delay) is not None:
                out[delay] = getattr(self, delay)
        return out


@dataclass(frozen=True)
class Replicas:
    """How one Serve deployment runs: its CPUs per replica, its concurrency, and either
    autoscaling bounds or a fixed replica count."""

    name: str
    """The Serve deployment's name (``serve.yaml``'s ``name``)."""
    num_cpus: float
    max_ongoing_requests: int
    autoscaling: Autoscaling | None = None
    num_replicas: int | None = None
    """A fixed replica count, for a deployment that does not autoscale."""
    graceful_shutdown_timeout_s: float | None = None
    graceful_shutdown_wait_loop_s: float | None = None
    health_check_period_s: float | None = None
    user_config: Mapping[str, Any] | None = None
    """Only what ``config/serve.yaml`` sets for ``serve deploy`` to change without a restart;
    ``armillary up`` passes the deployment's full user_config (deployments/app.py)."""
    note: str = ""
    """Shown above the deployment's entry in ``config/serve.yaml``."""

    def __post_init__(self) -> None:
        if (self.autoscaling is None) == (self.num_replicas is None):
            raise ValueError(f"{self.name}: either autoscaling or num_replicas, not both")
        if self.num_cpus <= 0 or self.max_ongoing_requests < 1:
            raise ValueError(f"{self.name}: num_cpus > 0 and max_ongoing_requests >= 1")

    def options(self) -> dict[str, Any]:
        """Keyword arguments of ``serve.deployment(...)`` / ``Deployment.options(...)`` (and,
        with the name, the deployment's entry in ``config/serve.yaml``); no user_config."""
        out: dict[str, Any] = {}
        if self.num_replicas is not None:
            out["num_replicas"] = self.num_replicas
        out["max_ongoing_requests"] = self.max_ongoing_requests
        out["ray_actor_options"] = {"num_cpus": self.num_cpus}
        if self.autoscaling is not None:
            out["autoscaling_config"] = self.autoscaling.config()
        for key in ("graceful_shutdown_timeout_s", "graceful_shutdown_wait_loop_s",
                    "health_check_period_s"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        return out

    def replicas(self, scale: Literal["min", "max"]) -> int:
        if self.autoscaling is None:
            return self.num_replicas or 0
        return self.autoscaling.min_replicas if scale == "min" else self.autoscaling.max_replicas


IDLE_CHECK_S = 0.5
"""How often a stopping replica checks whether its requests are done (Serve's default 2 s
made an idle suite take seconds per deployment to stop)."""

INGRESS = Replicas(
    "Ingress", num_cpus=0.25, max_ongoing_requests=64,
    autoscaling=Autoscaling(1, 2, target_ongoing_requests=32),
    # In HAProxy mode idle keep-alive connections hold a stopping replica for the whole
    # graceful period; requests here are short, so 5 s is plenty.
    graceful_shutdown_timeout_s=5, graceful_shutdown_wait_loop_s=IDLE_CHECK_S,
)
ECHO = Replicas("Echo", num_cpus=0.1, max_ongoing_requests=256,
                autoscaling=Autoscaling(1, 2, target_ongoing_requests=32),
                graceful_shutdown_wait_loop_s=IDLE_CHECK_S)
ANALYTICS = Replicas("Analytics", num_cpus=0.2, max_ongoing_requests=32,
                     autoscaling=Autoscaling(1, 2, target_ongoing_requests=8),
                     graceful_shutdown_wait_loop_s=IDLE_CHECK_S, health_check_period_s=10)
OCR = Replicas(
    "Ocr", num_cpus=0.25, max_ongoing_requests=8,
    autoscaling=Autoscaling(1, 2, target_ongoing_requests=2,
                            policy="deployments.ocr.scaling.ocr_autoscaling_policy"),
    graceful_shutdown_timeout_s=30, graceful_shutdown_wait_loop_s=IDLE_CHECK_S,
    health_check_period_s=10,
    note="Ocr: scales on requests plus queued and running jobs (deployments/ocr/scaling.py).",
)
CRYPTO = Replicas(
    "Crypto", num_cpus=0.25, max_ongoing_requests=128, num_replicas=1,
    graceful_shutdown_wait_loop_s=IDLE_CHECK_S,
    user_config={"pins": {}},
    note="Crypto: one replica (TensorFlow); @serve.batch needs room for concurrent callers.\n"
         "Its user_config (deployments.crypto.config.ServingConfig; unset keys come from the\n"
         "replica's ARMILLARY_CRYPTO_* settings) is applied by `reconfigure` in place: set it\n"
         "(config/replicas.py, or here) and `serve deploy` again to pin a model version\n"
         "({pins: {crypto-btc-usdt-1h-h1: 3}}), switch batching or the prediction cache, or\n"
         "change max_model_age_s - no restart.",
)

REPLICAS: dict[str, Replicas] = {r.name: r for r in (INGRESS, ECHO, ANALYTICS, OCR, CRYPTO)}
"""Every Serve deployment of the application, by its Serve name, in serve.yaml's order."""


def replica_table(settings: Settings | None = None, *, ingress_min_replicas: int | None = None,
                  ingress_max_replicas: int | None = None,
                  ingress_num_cpus: float | None = None) -> dict[str, Replicas]:
    """:data:`REPLICAS` with the settings' overrides applied (the table itself without
    settings); the keyword arguments (``build_app``'s args) win over the settings. The
    ingress's target is half its ``max_ongoing_requests``; its max never below its min."""
    if settings is None:
        return dict(REPLICAS)
    minimum = ingress_min_replicas or settings.ingress_min_replicas
    ongoing = settings.ingress_max_ongoing_requests
    ingress = replace(
        INGRESS,
        num_cpus=ingress_num_cpus or settings.ingress_num_cpus,
        max_ongoing_requests=ongoing,
        autoscaling=Autoscaling(
            minimum, max(minimum, ingress_max_replicas or settings.ingress_max_replicas),
            target_ongoing_requests=max(1, ongoing // 2),
            upscale_delay_s=settings.ingress_upscale_delay_s,
            downscale_delay_s=settings.ingress_downscale_delay_s),
    )
    crypto = replace(CRYPTO, num_cpus=settings.crypto_num_cpus)
    return {**REPLICAS, ingress.name: ingress, crypto.name: crypto}


def reserved_cpus(table: Iterable[Replicas], scale: Literal["min", "max"]) -> float:
    """Logical CPUs the deployments reserve with every one at its minimum (maximum) scale."""
    return round(sum(r.num_cpus * r.replicas(scale) for r in table), 4)


# ------------------------------------------------------------------ config/serve.yaml

SERVE_YAML = Path(__file__).resolve().parent / "serve.yaml"
APP_NAME = "armillary"
IMPORT_PATH = "deployments.app:build_app"
HTTP_PORT = 8000
"""The port Serve listens on in a container (config/settings.py's ``http_port`` default)."""

HEADER = """\
# Serve config for `serve deploy config/serve.yaml` (and KubeRay's serveConfigV2).
# GENERATED from config/replicas.py (the replica settings of every deployment): edit the
# table there, then `python -m config.replicas --write`; tests/test_replicas.py fails while
# this file differs. Replica resources are explicit and fractional so the whole application
# fits a 2-CPU node with room for autoscaling and for Ray Data / Tune jobs. Secrets are not
# here: replicas read ARMILLARY_* settings from their environment.
"""


def serve_config(table: Mapping[str, Replicas] = REPLICAS) -> dict[str, Any]:
    """The Serve config (``ServeDeploySchema``) of the application with ``table``."""
    deployments = []
    for row in table.values():
        entry = {"name": row.name, **row.options()}
        if row.user_config is not None:
            entry["user_config"] = dict(row.user_config)
        deployments.append(entry)
    return {
        "proxy_location": "HeadOnly",
        "http_options": {"host": "0.0.0.0", "port": HTTP_PORT},  # noqa: S104 - a container
        "applications": [{"name": APP_NAME, "route_prefix": "/", "import_path": IMPORT_PATH,
                          "args": {}, "deployments": deployments}],
    }


def serve_yaml(table: Mapping[str, Replicas] = REPLICAS) -> str:
    """The text of ``config/serve.yaml``: :func:`serve_config` with the header and each
    deployment's note as comments."""
    text = yaml.safe_dump(serve_config(table), sort_keys=False, default_flow_style=False)
    lines: list[str] = []
    for line in text.splitlines():
        name = line.strip().removeprefix("- name: ")
        if line.lstrip().startswith("- name: ") and name in table and table[name].note:
            indent = line[:len(line) - len(line.lstrip())]
            lines += [f"{indent}# {note}" for note in table[name].note.splitlines()]
        lines.append(line)
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m config.replicas",
        description="Write (--write) or check (--check) config/serve.yaml against the table.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true")
    action.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    wanted = serve_yaml()
    if args.write:
        SERVE_YAML.write_text(wanted)
        print(f"wrote {SERVE_YAML}")
        return 0
    if not SERVE_YAML.is_file() or SERVE_YAML.read_text() != wanted:
        print(f"{SERVE_YAML} differs from config/replicas.py: run "
              "`python -m config.replicas --write`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
