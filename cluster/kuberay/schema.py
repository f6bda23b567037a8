"""Validation of rendered manifests against the KubeRay CRDs (the ``v1`` version's
``openAPIV3Schema``) with `jsonschema` and the CRDs' CEL rules, and of the embedded Serve
config against Ray's own ``ServeDeploySchema``.

OpenAPI → JSON Schema: ``x-kubernetes-int-or-string`` becomes "integer or string";
``nullable`` admits null; objects that declare ``properties`` and do not carry
``x-kubernetes-preserve-unknown-fields`` reject unknown fields (the API server would
prune them silently, which hides typos).

CEL rules (``x-kubernetes-validations``) are evaluated with cel-python (`celpy`) the way
the API server does: a rule runs on each present value of the node that carries it
(``self``); a transition rule (one that names ``oldSelf``, e.g. ``self == oldSelf`` for
an immutable field) runs only on an update, and only where the old object has a value
at the same place (object fields and map keys correlate; list items only in
``x-kubernetes-list-type: map`` lists, by their keys). On an update a rule without
``oldSelf`` is skipped where the value did not change (the API server's validation
ratcheting). ``messageExpression`` and ``fieldPath`` are honoured; rules with
``optionalOldSelf`` (none in the KubeRay CRDs) are evaluated only when an old value exists.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KINDS = {"RayService": "rayservices", "RayCluster": "rayclusters", "RayJob": "rayjobs"}
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ManifestError(ValueError):
    """A manifest violates its CRD or the Serve schema; the message lists every problem."""


PACKED = Path(__file__).resolve().parent / "crds.json.gz"
"""The ``v1`` ``openAPIV3Schema`` of each CRD, by kind, as gzipped JSON: shipped with the
package so that rendering needs no ../shared. Made from the KubeRay CRD files (see
../shared/kuberay/SOURCE.md) by ``python -m cluster.kuberay.schema --pack CRD_DIR``."""


def crd_dir() -> Path:
    """The KubeRay CRD files (``ray.io_<plural>.yaml``): ``ARMILLARY_KUBERAY_CRDS``, else
    ``<shared>/kuberay/crds``. Only read when ``ARMILLARY_KUBERAY_CRDS`` is set (validation
    against other CRDs) and to make :data:`PACKED`."""
    override = os.environ.get("ARMILLARY_KUBERAY_CRDS")
    if override:
        return Path(override)
    shared = os.environ.get("ARMILLARY_SHARED_DIR")
    root = Path(shared) if shared else Path(__file__).resolve().parents[3] / "shared"
    return root / "kuberay" / "crds"


def read_crd_file(directory: Path, kind: str) -> dict[str, Any]:
    """The v1 ``openAPIV3Schema`` of ``kind`` from its CRD YAML in ``directory``."""
    path = directory / f"ray.io_{KINDS[kind]}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"KubeRay CRD not found: {path}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader
    for version in crd["spec"]["versions"]:
        if version["name"] == "v1":
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    raise ManifestError(f"{path} has no v1 version")


@functools.cache
def packed_schemas() -> dict[str, dict[str, Any]]:
    with gzip.open(PACKED, "rt", encoding="utf-8") as handle:
        schemas: dict[str, dict[str, Any]] = json.load(handle)
    return schemas


def pack(directory: Path, out: Path = PACKED) -> Path:
    """Write :data:`PACKED` from the CRD files in ``directory`` (deterministic bytes)."""
    schemas = {kind: read_crd_file(directory, kind) for kind in sorted(KINDS)}
    text = json.dumps(schemas, separators=(",", ":"), sort_keys=True)
    out.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))
    return out


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
def crd_openapi(kind: str) -> dict[str, Any]:
    """The CRD's v1 ``openAPIV3Schema`` as written (with its ``x-kubernetes-*`` keys): from
    the CRD files in ``ARMILLARY_KUBERAY_CRDS`` when set, else the packed copy."""
    if kind not in KINDS:
        raise ManifestError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if os.environ.get("ARMILLARY_KUBERAY_CRDS"):
        return read_crd_file(crd_dir(), kind)
    return packed_schemas()[kind]


@functools.cache
def crd_schema(kind: str) -> dict[str, Any]:
    """The CRD's v1 schema as JSON Schema (see `to_json_schema`)."""
    schema: dict[str, Any] = to_json_schema(crd_openapi(kind))
    return schema


# ------------------------------------------------------------------ CEL rules

_OLD_SELF = re.compile(r"\boldSelf\b")


@dataclass(frozen=True)
class CelRule:
    """One ``x-kubernetes-validations`` entry."""

    rule: str
    message: str | None = None
    message_expression: str | None = None
    field_path: str | None = None

    @property
    def transition(self) -> bool:
        """Names ``oldSelf``: evaluated on updates only."""
        return bool(_OLD_SELF.search(self.rule))

    @classmethod
    def parse(cls, entry: dict[str, Any]) -> CelRule:
        return cls(entry["rule"], entry.get("message"), entry.get("messageExpression"),
                   entry.get("fieldPath"))


@functools.cache
def _program(expression: str) -> Any:
    import celpy

    env = celpy.Environment()
    try:
        return env.program(env.compile(expression))
    except celpy.CELParseError as exc:
        raise ManifestError(f"CRD CEL rule does not parse: {expression!r}: {exc}") from exc


def _evaluate(expression: str, value: Any, old: Any) -> Any:
    """The result of `expression` for ``self`` = value (and ``oldSelf`` = old when given);
    a ``celpy.CELEvalError`` is raised, not returned."""
    import celpy

    activation = {"self": celpy.json_to_cel(value)}
    if old is not None:
        activation["oldSelf"] = celpy.json_to_cel(old)
    result = _program(expression).evaluate(activation)
    if isinstance(result, celpy.CELEvalError):
        raise result
    return result


def _check_rule(rule: CelRule, value: Any, old: Any, where: str) -> str | None:
    """None when `rule` holds, else the problem (the API server's wording: path and
    the rule's message)."""
    import celpy

    place = f"{where}{rule.field_path or ''}" or "<root>"
    try:
        result = _evaluate(rule.rule, value, old)
    except celpy.CELEvalError as exc:
        reason = exc.args[0] if exc.args else exc
        return f"{place}: rule {rule.rule!r} could not be evaluated: {reason}"
    if result is True or (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
        return None
    message = rule.message or f"failed rule: {rule.rule}"
    if rule.message_expression:
        with contextlib.suppress(celpy.CELEvalError):
            message = str(_evaluate(rule.message_expression, value, old)) or message
    return f"{place}: Invalid value: {message} (rule: {rule.rule})"


def _walk(schema: dict[str, Any], value: Any, old: Any, update: bool, where: str,
          found: list[str]) -> None:
    if value is None:
        return
    for entry in schema.get("x-kubernetes-validations", ()):
        rule = CelRule.parse(entry)
        if rule.transition:
            if old is None:  # a create, or no correlated old value
                continue
        elif update and old is not None and old == value:
            continue  # unchanged: ratcheted
        problem = _check_rule(rule, value, old, where)
        if problem:
            found.append(problem)
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        old_map = old if isinstance(old, dict) else {}
        for key, item in value.items():
            sub = (properties or {}).get(key)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is not None:
                path = f"{where}.{key}" if properties is not None else f"{where}[{key!r}]"
                _walk(sub, item, old_map.get(key), update, path.lstrip("."), found)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        keys = (schema.get("x-kubernetes-list-map-keys") or []
                if schema.get("x-kubernetes-list-type") == "map" else [])
        olds: dict[tuple[Any, ...], Any] = {}
        if keys and isinstance(old, list):
            olds = {tuple(o.get(k) for k in keys): o for o in old if isinstance(o, dict)}
        for index, item in enumerate(value):
            previous = (olds.get(tuple(item.get(k) for k in keys))
                        if keys and isinstance(item, dict) else None)
            _walk(schema["items"], item, previous, update, f"{where}[{index}]", found)


def cel_problems(manifest: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """Violations of the CRD's CEL rules by `manifest`; with `old` (the object it replaces)
    the transition rules too (immutable fields)."""
    kind = manifest.get("kind")
    if kind not in KINDS:
        return []
    name = (manifest.get("metadata") or {}).get("name", "")
    found: list[str] = []
    _walk(crd_openapi(kind), manifest, old, old is not None, "", found)
    return [f"{kind}/{name}: {problem}" for problem in found]


def validate_serve_config(config: dict[str, Any]) -> None:
    from pydantic import ValidationError
    from ray.serve.schema import ServeDeploySchema

    try:
        ServeDeploySchema.model_validate(config)
    except ValidationError as exc:
        raise ManifestError(f"Serve config violates ServeDeploySchema: {exc}") from exc


def problems(manifest: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """Every violation of `manifest` (empty when valid); with `old`, the object it is to
    replace, also the CEL transition rules (immutable fields)."""
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
    found.extend(cel_problems(manifest, old))
    serve = (manifest.get("spec") or {}).get("serveConfigV2")
    if kind == "RayService" and isinstance(serve, str):
        try:
            validate_serve_config(yaml.safe_load(serve))
        except (ManifestError, yaml.YAMLError) as exc:
            found.append(f"{kind}/{name}: spec.serveConfigV2: {exc}")
    return found


def validate(manifest: dict[str, Any], old: dict[str, Any] | None = None) -> None:
    """Raise ManifestError listing every problem of `manifest` (as created, or replacing
    `old`)."""
    found = problems(manifest, old)
    if found:
        raise ManifestError("\n".join(found))


def validate_update(manifest: dict[str, Any], old: dict[str, Any]) -> None:
    """The CEL rules for `manifest` replacing the stored `old` (transition rules such as
    ``self == oldSelf``; other rules where a value changed): what the API server checks on
    an update beyond the schema."""
    found = cel_problems(manifest, old)
    if found:
        raise ManifestError("\n".join(found))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="pack the KubeRay CRD schemas")
    parser.add_argument("--pack", type=Path, default=None, metavar="CRD_DIR",
                        help="directory of ray.io_*.yaml (default: <shared>/kuberay/crds)")
    print(pack(parser.parse_args().pack or crd_dir()))
