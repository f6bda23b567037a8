"""Shared by the KubeRay tests: the CRDs they validate against, and the rendered manifests."""

from __future__ import annotations

from functools import cache
from typing import Any

from cluster.kuberay import render
from cluster.kuberay.schema import PACKED, crd_dir
from config.settings import load_settings
from tests.support import missing


def require_crds() -> None:
    """The packed CRD schemas ship with the package (cluster/kuberay/crds.json.gz); only an
    ``ARMILLARY_KUBERAY_CRDS`` override may point at a missing directory."""
    assert PACKED.is_file(), f"{PACKED} is missing from the package"


def require_crd_files() -> None:
    """Fail (CI) or skip when the CRD files (../shared/kuberay/crds) are not there."""
    if not crd_dir().is_dir():
        missing(f"KubeRay CRD files not found: {crd_dir()}")


@cache
def rendered_manifests() -> dict[str, dict[str, Any]]:
    """``armillary kube render`` of the default settings, once per test session (read only)."""
    require_crds()
    return render.render_all(load_settings())
