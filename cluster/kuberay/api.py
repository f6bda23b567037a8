"""apply / status / scale of the ``ray.io/v1`` resources through the `kubernetes`
package's CustomObjectsApi (KubeRay's own Python client is not published).

`apply` creates a resource or replaces it with the last-seen resourceVersion (a conflict
with a concurrent writer is a 409, reported, never overwritten). Replacing a RayService's
spec is how an upgrade is rolled out: KubeRay brings up the new cluster and switches
traffic when its Serve apps are healthy.

Before anything is written the manifest is validated (schema + CEL rules); a replacement
and a `scale` are also checked against the stored object with the CRDs' transition rules
(``self == oldSelf``: immutable fields such as ``managedBy``), as the API server would.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from cluster.kuberay.schema import KINDS, validate, validate_update

GROUP, VERSION = "ray.io", "v1"


class KubeError(Exception):
    """A Kubernetes API call failed; the message says which and why."""


def make_api(host: str | None = None, token: str | None = None,
             context: str | None = None) -> Any:
    """CustomObjectsApi for `host` (explicit, e.g. a test server) or the kubeconfig /
    in-cluster configuration."""
    from kubernetes import client, config

    if host:
        configuration = client.Configuration()
        configuration.host = host
        if token:
            configuration.api_key = {"authorization": f"Bearer {token}"}
        return client.CustomObjectsApi(client.ApiClient(configuration))
    try:
        config.load_kube_config(context=context)
    except Exception:
        try:
            config.load_incluster_config()
        except Exception as exc:
            raise KubeError(f"no Kubernetes configuration (kubeconfig or in-cluster): {exc}") \
                from exc
    return client.CustomObjectsApi()


def _plural(kind: str) -> str:
    if kind not in KINDS:
        raise KubeError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    return KINDS[kind]


def _explain(exc: Exception, what: str) -> KubeError:
    status = getattr(exc, "status", None)
    if status is None:
        return KubeError(f"{what}: {exc}")
    try:
        message = json.loads(getattr(exc, "body", "") or "{}").get("message", "")
    except ValueError:
        message = ""
    return KubeError(f"{what}: HTTP {status} {getattr(exc, 'reason', '')}: {message}".rstrip(": "))


@dataclass
class KubeRay:
    api: Any
    namespace: str

    def get(self, kind: str, name: str) -> dict[str, Any]:
        try:
            obj: dict[str, Any] = self.api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, _plural(kind), name)
        except KubeError:
            raise
        except Exception as exc:
            raise _explain(exc, f"get {kind}/{name}") from exc
        return obj

    def apply(self, manifest: dict[str, Any]) -> str:
        """Create or replace one validated manifest; returns 'created' or 'replaced'."""
        validate(manifest)
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        plural = _plural(kind)
        body = copy.deepcopy(manifest)
        body["metadata"]["namespace"] = self.namespace
        try:
            current = self.api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name)
        except Exception as exc:
            if getattr(exc, "status", None) != 404:
                raise _explain(exc, f"get {kind}/{name}") from exc
            try:
                self.api.create_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, plural, body)
            except Exception as create_exc:
                raise _explain(create_exc, f"create {kind}/{name}") from create_exc
            return "created"
        validate_update(body, current)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        try:
            self.api.replace_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name, body)
        except Exception as exc:
            raise _explain(exc, f"replace {kind}/{name}") from exc
        return "replaced"

    def status(self, kind: str, name: str) -> dict[str, Any]:
        """Name, state and worker groups (desired replicas and bounds) of one resource."""
        obj = self.get(kind, name)
        spec = obj.get("spec", {})
        cluster = spec.get("rayClusterConfig") or spec.get("rayClusterSpec") or spec
        groups = {g["groupName"]: {"replicas": g.get("replicas"),
                                   "minReplicas": g.get("minReplicas"),
                                   "maxReplicas": g.get("maxReplicas")}
                  for g in cluster.get("workerGroupSpecs", [])}
        status = obj.get("status") or {}
        state = (status.get("serviceStatus") or status.get("state")
                 or status.get("jobStatus") or _ready_condition(status) or "unknown")
        return {"kind": kind, "name": name, "state": state, "groups": groups,
                "status": status}

    def scale(self, kind: str, name: str, group: str, replicas: int,
              min_replicas: int | None = None, max_replicas: int | None = None) -> dict[str, Any]:
        """Set a worker group's replicas (and optionally its autoscaling bounds)."""
        if replicas < 0:
            raise KubeError("replicas must be >= 0")
        stored = self.get(kind, name)
        obj = copy.deepcopy(stored)
        spec = obj["spec"]
        cluster = spec.get("rayClusterConfig") or spec.get("rayClusterSpec") or spec
        groups = cluster.get("workerGroupSpecs", [])
        match = [g for g in groups if g.get("groupName") == group]
        if not match:
            names = ", ".join(g.get("groupName", "?") for g in groups) or "none"
            raise KubeError(f"{kind}/{name} has no worker group {group!r} (groups: {names})")
        target = match[0]
        low = target.get("minReplicas", 0) if min_replicas is None else min_replicas
        high = target.get("maxReplicas", replicas) if max_replicas is None else max_replicas
        if not low <= replicas <= high:
            raise KubeError(f"{replicas} is outside group {group!r}'s bounds [{low}, {high}]; "
                            "pass --min/--max to move them")
        target.update({"replicas": replicas, "minReplicas": low, "maxReplicas": high})
        obj.pop("status", None)
        validate_update(obj, stored)
        try:
            self.api.replace_namespaced_custom_object(
                GROUP, VERSION, self.namespace, _plural(kind), name, obj)
        except Exception as exc:
            raise _explain(exc, f"scale {kind}/{name}") from exc
        return {"group": group, "replicas": replicas, "minReplicas": low, "maxReplicas": high}


def _ready_condition(status: dict[str, Any]) -> str | None:
    for condition in status.get("conditions", []) or []:
        if condition.get("type") in ("Ready", "RayClusterProvisioned"):
            return f"{condition['type']}={condition.get('status')}"
    return None
