"""The import rules of the layers, read from the source (every ``.py`` parsed with `ast`;
imports under ``if TYPE_CHECKING:`` do not run and do not count).

From the bottom up: ``config`` (settings) < ``storage`` (stores and records) < ``actors``
(domain logic: plain Python, no Ray) < ``training`` (Ray Tune / Data pipelines) and
``deployments`` (the services and the HTTP ingress on Ray Serve) < ``cluster`` (the
``armillary`` command: starts Ray, deploys the app, runs batch work) < ``benchmarks`` <
``tests``. A layer imports only the layers below it; inside ``deployments``, every service
has one shape (``deployments/<name>/``: ``service.py``, ``deployment.py``, ``client.py``,
``errors.py``), only its ``deployment.py`` touches Ray, only its ``client.py`` the ingress,
and the ingress sees a service only through its ``client.py`` and ``errors.py``.

``KNOWN_BREAKS`` lists the imports that break these rules today, each to be removed by the
change that fixes it: the test fails on any other break, and on a listed one that is gone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("config", "storage", "actors", "training", "deployments", "cluster", "benchmarks",
           "tests")
FRAMEWORKS = ("ray", "fastapi", "starlette")
"""Outside packages whose use is part of the layering: Ray (and Serve), the HTTP stack."""

MAY_IMPORT: dict[str, set[str]] = {
    "config": set(),
    "storage": {"config", "ray"},  # storage/hosted.py: embedded stores owned by Ray actors
    "actors": {"config", "storage"},
    "training": {"config", "storage", "actors", "ray"},
    "deployments": {"config", "storage", "actors", "ray", "ray.serve", "fastapi", "starlette"},
    "cluster": {"config", "storage", "actors", "training", "deployments", "ray", "ray.serve"},
    "benchmarks": {"config", "storage", "actors", "training", "deployments", "cluster",
                   *FRAMEWORKS, "ray.serve"},
    "tests": {*PROJECT, *FRAMEWORKS, "ray.serve"},
}
"""Per layer, what it may import besides itself (``ray`` covers Ray but not ``ray.serve``)."""

SERVICES = ("analytics", "crypto", "echo", "ocr")
SHAPE = ("__init__.py", "client.py", "deployment.py", "errors.py", "service.py")
DEPLOYMENTS_ROOT = {"__init__.py", "app.py", "status.py"}

KNOWN_BREAKS: set[tuple[str, str]] = set()


def modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PROJECT:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node``, except what is under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if not _type_checking(child):
            yield child
            yield from _walk(child)


def imports(tree: ast.Module) -> set[str]:
    """Dotted names imported (``from a import b``: ``a.b``; relative imports: none here)."""
    out: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def _allowed(name: str, allowed: set[str]) -> bool:
    if name == "ray.serve" or name.startswith("ray.serve."):
        return "ray.serve" in allowed
    return name.split(".")[0] in allowed


def layer_breaks(path: str, names: set[str]) -> set[str]:
    layer = path.split("/")[0]
    return {name for name in names
            if name.split(".")[0] in (*PROJECT, *FRAMEWORKS)
            and name.split(".")[0] != layer
            and not _allowed(name, MAY_IMPORT[layer])}


def _service_of(name: str) -> tuple[str, str] | None:
    """(service, module) of an imported ``deployments.<service>.<module>...`` name."""
    parts = name.split(".")
    if len(parts) >= 3 and parts[0] == "deployments" and parts[1] in SERVICES:
        return parts[1], parts[2]
    return None


def _service_module_breaks(service: str, module: str, name: str) -> bool:
    """Whether module ``module`` of service ``service`` may not import ``name``: Ray only
    in ``deployment.py``, the ingress only in ``client.py``, no other service at all."""
    found = _service_of(name)
    return ((name.split(".")[0] == "ray" and module != "deployment.py")
            or (name.startswith("deployments.ingress") and module != "client.py")
            or (found is not None and found[0] != service))


def deployments_breaks(path: str, names: set[str]) -> set[str]:
    """The rules inside ``deployments`` (and the command line's use of the HTTP layer):
    see the module docstring."""
    parts = path.split("/")
    if parts[:2] == ["deployments", "ingress"]:
        return {name for name in names
                if (found := _service_of(name)) is not None
                and found[1] not in ("client", "errors")}
    if parts[0] == "deployments" and len(parts) == 3 and parts[1] in SERVICES:
        return {name for name in names if _service_module_breaks(parts[1], parts[2], name)}
    if parts[0] == "cluster":  # the command line works below the HTTP layer
        return {name for name in names if name.startswith("deployments.ingress")}
    return set()


def breaks() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path, tree in modules():
        names = imports(tree)
        found.update((path, name) for name in layer_breaks(path, names))
        found.update((path, name) for name in deployments_breaks(path, names))
    return found


def _module_of(name: str) -> str:
    """``deployments.ocr.service.OcrService`` -> ``deployments.ocr.service`` (the names
    recorded are ``from module import name``; a break is listed by module)."""
    candidate = ROOT.joinpath(*name.split("."))
    if candidate.with_suffix(".py").exists() or candidate.is_dir():
        return name
    return name.rsplit(".", 1)[0]


def test_no_layer_imports_what_it_may_not() -> None:
    found = {(path, _module_of(name)) for path, name in breaks()}
    new = sorted(found - KNOWN_BREAKS)
    assert not new, "imports that break the layers:\n" + "\n".join(f"{p}: {n}" for p, n in new)


def test_every_known_break_still_exists() -> None:
    """A fixed break leaves KNOWN_BREAKS, so that it cannot come back unnoticed."""
    found = {(path, _module_of(name)) for path, name in breaks()}
    gone = sorted(KNOWN_BREAKS - found)
    assert not gone, f"fixed: remove from KNOWN_BREAKS: {gone}"


def test_every_service_has_the_one_shape() -> None:
    root = ROOT / "deployments"
    loose = sorted(p.name for p in root.glob("*.py") if p.name not in DEPLOYMENTS_ROOT)
    assert not loose, f"a service is a folder deployments/<name>/, not a module: {loose}"
    folders = sorted(p.name for p in root.iterdir()
                     if p.is_dir() and (p / "__init__.py").exists() and p.name != "ingress")
    assert folders == sorted(SERVICES)
    for name in SERVICES:
        missing = [f for f in SHAPE if not (root / name / f).exists()]
        assert not missing, f"deployments/{name}/ lacks {missing}"


def test_the_rules_catch_a_break() -> None:
    """The checker itself: an upward import, Serve in a service module, a route reaching
    into a service and the CLI using the HTTP layer are each found."""
    assert layer_breaks("actors/x.py", {"deployments.app", "ray", "storage.stores"}) == {
        "deployments.app", "ray"}
    assert layer_breaks("storage/x.py", {"ray.serve", "ray.util"}) == {"ray.serve"}
    assert layer_breaks("benchmarks/x.py", {"tests.services"}) == {"tests.services"}
    assert deployments_breaks("deployments/ocr/service.py", {"ray.serve"}) == {"ray.serve"}
    assert deployments_breaks("deployments/ocr/deployment.py", {"ray.serve"}) == set()
    assert deployments_breaks("deployments/ingress/routes/ocr.py", {
        "deployments.ocr.service.OcrService", "deployments.ocr.client.OcrClient"}) == {
        "deployments.ocr.service.OcrService"}
    assert deployments_breaks("deployments/crypto/models.py", {
        "deployments.analytics.models.ModelSet"}) == {"deployments.analytics.models.ModelSet"}
    assert deployments_breaks("cluster/cli.py", {"deployments.ingress.auth.AuthService",
                                                 "deployments.app.build_app"}) == {
        "deployments.ingress.auth.AuthService"}
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import ray\n")
    assert "ray" not in imports(tree)
