"""Validation of rendered manifests against the KubeRay CRDs (the ``v1`` version's
``openAPIV3Schema``) with `jsonschema`, and of the embedded Serve config against Ray's
own ``ServeDeploySchema``.

OpenAPI → JSON Schema: ``x-kubernetes-int-or-string`` becomes "integer or string";
``nullable`` admits null; objects that declare ``properties`` and do not carry
``x-kubernetes-preserve-unknown-fields`` reject unknown fields (the API server would
prune them silently, which hides typos). CEL rules (``x-kubernetes-validations``) are
not evaluated.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import yaml

KINDS = {"RayService": "rayservices", "RayCluster": "rayclusters", "RayJob": "rayjobs"}
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ManifestError(ValueError):
    """A manifest violates its CRD or the Serve schema; the message lists every problem."""


def crd_dir() -> Path:
    override = os.environ.get("ARMILLARY_KUBERAY_CRDS")
    if override:
        return Path(override)
    shared = os.environ.get("ARMILLARY_SHARED_DIR")
    root = Path(shared) if shared else Path(__file__).resolve().parents[3] / "shared"
    return root / "kuberay" / "crds"


def to_json_schema(node: Any) -> Any:
    """Translate one OpenAPI v3 (Kubernetes structural) schema node to JSON Schema."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items()
           if not k.startswith("x-kubernetes-") and k not in ("nullable", "format")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.pop("anyOf", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if ("properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@functools.cache
def crd_schema(kind: str) -> dict[str, Any]:
    if kind not in KINDS:
        raise ManifestError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    path = crd_dir() / f"ray.io_{KINDS[kind]}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"KubeRay CRD not found: {path}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader
    for version in crd["spec"]["versions"]:
        if version["name"] == "v1":
            schema: dict[str, Any] = to_json_schema(version["schema"]["openAPIV3Schema"])
            return schema
    raise ManifestError(f"{path} has no v1 version")


def validate_serve_config(config: dict[str, Any]) -> None:
    from pydantic import ValidationError
    from ray.serve.schema import ServeDeploySchema

    try:
        ServeDeploySchema.model_validate(config)
    except ValidationError as exc:
        raise ManifestError(f"Serve config violates ServeDeploySchema: {exc}") from exc


def problems(manifest: dict[str, Any]) -> list[str]:
    """Every violation of `manifest` (empty when valid)."""
    from jsonschema import Draft7Validator

    found: list[str] = []
    if manifest.get("apiVersion") != "ray.io/v1":
        found.append(f"apiVersion must be ray.io/v1, got {manifest.get('apiVersion')!r}")
    kind = manifest.get("kind")
    if kind not in KINDS:
        return [*found, f"kind must be one of {', '.join(KINDS)}, got {kind!r}"]
    name = (manifest.get("metadata") or {}).get("name", "")
    if not (isinstance(name, str) and _NAME.match(name) and len(name) <= 63):
        found.append(f"metadata.name {name!r} is not a DNS-1123 label")
    validator = Draft7Validator(crd_schema(kind))
    for error in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "<root>"
        found.append(f"{kind}/{name}: {where}: {error.message[:300]}")
    serve = (manifest.get("spec") or {}).get("serveConfigV2")
    if kind == "RayService" and isinstance(serve, str):
        try:
            validate_serve_config(yaml.safe_load(serve))
        except (ManifestError, yaml.YAMLError) as exc:
            found.append(f"{kind}/{name}: spec.serveConfigV2: {exc}")
    return found


def validate(manifest: dict[str, Any]) -> None:
    found = problems(manifest)
    if found:
        raise ManifestError("\n".join(found))
