"""CONTRIBUTING.md's recipes work. Its code blocks are run: each ``# new file: <path>``
block is written into a scratch folder that joins the real package's ``__path__`` (so the
example imports under its real name, beside the real modules), and each ``# in <path>``
edit is applied in-process to the module it names. What comes out is checked the way the
suite checks real code: the route answers with auth and declares its policy; the service is
reached through its typed client, its errors map to their status, its replica settings make
a valid Serve config and the layer rules accept its folder; the store backend is chosen by
its URL scheme through the registry and passes the cache contract; the processor runs on
an OCRed image. Every file the guide names exists, and none of the examples does."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import config.replicas
import deployments.ingress.api as api_module
from deployments.ingress.context import IngressContext, _Service
from storage.records.accounts import Role
from tests.deployments.conftest import Api, open_api
from tests.support import REPO_ROOT, missing

GUIDE = REPO_ROOT / "CONTRIBUTING.md"
_FENCE = re.compile(r"^( *)```python\n(.*?)^\1```", re.S | re.M)
_HEADER = re.compile(r"^# (new file:|in) (\S+)$")


@dataclass(frozen=True)
class Block:
    kind: str  # "new" or "in"
    path: str
    code: str


def blocks() -> list[Block]:
    out = []
    for match in _FENCE.finditer(GUIDE.read_text()):
        indent, body = match.groups()
        lines = [line.removeprefix(indent) for line in body.splitlines()]
        header = _HEADER.match(lines[0])
        if header is not None:
            kind = "new" if header.group(1) == "new file:" else "in"
            out.append(Block(kind, header.group(2), textwrap.dedent("\n".join(lines[1:]))))
    return out


def block(kind: str, path: str) -> str:
    (found,) = [b.code for b in blocks() if b.kind == kind and b.path == path]
    return found


class Scratch:
    """New files of the guide, importable under their real module names."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._paths: list[tuple[list[str], str]] = []
        self._modules: list[str] = []

    def load(self, path: str) -> ModuleType:
        """Write the guide's block for ``path`` and import it (its package is mounted)."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block("new", path))
        parts = Path(path).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        self._mount(name)
        importlib.invalidate_caches()
        self._modules.append(name)
        return importlib.import_module(name)

    def _mount(self, name: str) -> None:
        """Put the scratch folder of the nearest existing package above ``name`` on that
        package's ``__path__``."""
        parts = name.split(".")
        for depth in range(len(parts) - 1, 0, -1):
            package = ".".join(parts[:depth])
            if (REPO_ROOT.joinpath(*parts[:depth]) / "__init__.py").is_file():
                search = importlib.import_module(package).__path__
                folder = str(self.root.joinpath(*parts[:depth]))
                if folder not in search:
                    search.append(folder)
                    self._paths.append((search, folder))
                return
        raise AssertionError(f"{name}: no package of the project above it")

    def close(self) -> None:
        for search, folder in self._paths:
            search.remove(folder)
        for name in reversed(self._modules):
            sys.modules.pop(name, None)
            parent, _, child = name.rpartition(".")
            if hasattr(sys.modules.get(parent), child):
                delattr(sys.modules[parent], child)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Scratch]:
    made = Scratch(tmp_path / "scratch")
    yield made
    made.close()


def serve_routes(monkeypatch: pytest.MonkeyPatch, **modules: ModuleType) -> None:
    """The guide's ``ROUTES`` edit of deployments/ingress/api.py, with ``modules`` known."""
    namespace = {**vars(api_module), **modules}
    exec(block("in", "deployments/ingress/api.py"), namespace)  # noqa: S102 - the guide's code
    assert set(api_module.ROUTES) < set(namespace["ROUTES"])  # every route module kept
    routes = tuple(namespace["ROUTES"])
    monkeypatch.setattr(api_module, "ROUTES", routes)


def logged_in(api: Api) -> dict[Role, dict[str, str]]:
    for role in Role:
        api.make_user(role.value, role)
    return {role: api.bearer(role.value) for role in Role}


def test_the_files_the_guide_names_exist_and_its_examples_do_not() -> None:
    found = blocks()
    assert {b.kind for b in found} == {"new", "in"} and len(found) >= 15
    new = [b.path for b in found if b.kind == "new"]
    for path in new:
        assert not (REPO_ROOT / path).exists(), f"{path}: the example is real code now"
    for b in found:
        if b.kind == "in":
            assert (REPO_ROOT / b.path).is_file(), b.path
    examples = {str(Path(p).parent) for p in new if p.startswith("deployments/greeter/")}
    named = set(re.findall(r"`([\w.-]+(?:/[\w.-]+)+/?)`", GUIDE.read_text()))
    for path in sorted(named - set(new)):
        if path.rstrip("/") not in examples:
            assert (REPO_ROOT / path).exists(), f"CONTRIBUTING.md names {path}, which is gone"


def test_the_route_recipe(scratch: Scratch, tmp_path: Path, chdb_warehouse: Any,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.deployments import test_route_roles

    shout = scratch.load("deployments/ingress/routes/shout.py")
    serve_routes(monkeypatch, shout=shout)
    row_code = block("in", "tests/deployments/test_route_roles.py")
    (row,) = eval(f"[{row_code}]", vars(test_route_roles))  # noqa: S307 - the guide's code
    method, template, allowed, path, body = row
    api = open_api(tmp_path, chdb_warehouse)
    try:
        schema = api.client.app.openapi()  # type: ignore[attr-defined]
        served = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
        declared = test_route_roles.PUBLIC | {(m, p) for m, p, *_ in test_route_roles.PROTECTED}
        assert served - declared == {(method, template)}  # the row the guide adds
        assert api.client.request(method, path, json=body).status_code == 401
        for role, headers in logged_in(api).items():
            answer = api.client.request(method, path, json=body, headers=headers)
            assert (answer.status_code == 200) == (role in allowed), answer.text
        viewer = api.bearer(Role.VIEWER.value)
        answer = api.client.get("/api/v1/shout", params={"message": "hi there"},
                                headers=viewer)
        assert answer.json() == {"shout": "HI THERE", "caller": "viewer"}
        empty = api.client.get("/api/v1/shout", params={"message": " "}, headers=viewer)
        assert empty.status_code == 400 and empty.json()["detail"] == "message is empty"
    finally:
        api.client.__exit__(None, None, None)


def test_the_service_recipe(scratch: Scratch, tmp_path: Path, chdb_warehouse: Any,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    from cluster.kuberay.schema import validate_serve_config
    from tests import test_layers

    package = scratch.load("deployments/greeter/__init__.py")
    errors = scratch.load("deployments/greeter/errors.py")
    service = scratch.load("deployments/greeter/service.py")
    client = scratch.load("deployments/greeter/client.py")
    # its row of the replica table: a valid Serve config with the others
    rows = dict(vars(config.replicas))
    exec(block("in", "config/replicas.py"), rows)  # noqa: S102 - the guide's code
    row = rows["GREETER"]
    table = {**config.replicas.REPLICAS, row.name: row}
    validate_serve_config(config.replicas.serve_config(table))
    assert config.replicas.reserved_cpus(table.values(), "min") < 2
    monkeypatch.setattr(config.replicas, "GREETER", row, raising=False)
    deployment = scratch.load("deployments/greeter/deployment.py")
    greeter = deployment.GreeterDeployment
    assert (greeter.name, greeter.ray_actor_options) == (row.name, {"num_cpus": row.num_cpus})
    assert greeter._deployment_config.autoscaling_config.max_replicas == 2
    # the app's handle, named as the client says
    def configured(target: Any) -> Any:  # deployments/app.py's, on the table with the row
        return target.options(**table[target.name].options())

    handles = eval(  # noqa: S307 - the guide's code
        f"dict({block('in', 'deployments/app.py').strip()})",
        {"GreeterDeployment": greeter, "configured": configured})
    assert list(handles) == [client.GreeterClient.name]
    # the layer test's rules accept the folder
    exec(block("in", "tests/test_layers.py"), layers := {})  # noqa: S102 - the guide's code
    monkeypatch.setattr(test_layers, "SERVICES", layers["SERVICES"])
    folder = Path(package.__file__ or "").parent
    assert sorted(p.name for p in folder.glob("*.py")) == sorted(test_layers.SHAPE)
    for file in folder.glob("*.py"):
        path = f"deployments/greeter/{file.name}"
        names = test_layers.imports(ast.parse(file.read_text()))
        assert not test_layers.layer_breaks(path, names), path
        assert not test_layers.deployments_breaks(path, names), path
    # ctx.greeter and a route that calls it
    members: dict[str, Any] = {}
    exec(block("in", "deployments/ingress/context.py"),  # noqa: S102 - the guide's code
         {"_Service": _Service, "GreeterClient": client.GreeterClient}, members)
    monkeypatch.setattr(api_module, "IngressContext",
                        type("IngressContext", (IngressContext,), members))
    greetings = scratch.load("deployments/ingress/routes/greetings.py")
    monkeypatch.setattr(api_module, "ROUTES", (*api_module.ROUTES, greetings))  # as for shout
    api = open_api(tmp_path, chdb_warehouse, services={"greeter": service.Greeter()})
    try:
        viewer = logged_in(api)[Role.VIEWER]
        url = "/api/v1/greetings"
        assert api.client.get(url, params={"name": "Ada"}).status_code == 401
        answer = api.client.get(url, params={"name": " Ada "}, headers=viewer)
        assert answer.json() == {"greeting": "hello, Ada", "caller": "viewer"}
        refused = api.client.get(url, params={"name": " "}, headers=viewer)
        assert errors.GREETER_ERRORS[errors.NoNameError].code == refused.status_code == 400
        assert refused.json()["detail"] == "say whom to greet: the name is empty"
    finally:
        api.client.__exit__(None, None, None)


async def test_the_store_backend_recipe(scratch: Scratch,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from storage import registry
    from storage.errors import UnsupportedURLError
    from storage.stores import open_store
    from tests.storage import test_cache_contract

    module = scratch.load("storage/cache/dict.py")
    entry = eval(  # noqa: S307 - the guide's code
        "{" + block("in", "storage/registry.py") + "}", vars(registry))
    monkeypatch.setitem(registry.BACKENDS["cache"], "dict", entry["dict"])
    assert type(open_store("cache", "dict://x", via_ray=False)) is module.DictCache
    with pytest.raises(UnsupportedURLError, match="dict, memory, redis"):
        registry.open_backend("cache", "nope://x")
    contract = [fn for name, fn in vars(test_cache_contract).items() if name.startswith("test_")]
    assert len(contract) >= 7
    for check in contract:
        cache = registry.open_backend("cache", "dict://contract")
        await cache.connect()
        await cache.ping()
        await check(cache)
        await cache.close()
    conftest = (REPO_ROOT / "tests" / "storage" / "conftest.py").read_text()
    assert "async def cache(" in conftest and "def _keyed_store(" in conftest


def test_the_processor_recipe(scratch: Scratch, monkeypatch: pytest.MonkeyPatch) -> None:
    from actors.ocr import OcrOptions, Strategy, process_document
    from actors.ocr.processors import base
    from tests.ocr.helpers import encode, text_page

    if shutil.which("tesseract") is None:
        missing("tesseract is not installed")
    module = scratch.load("actors/ocr/processors/order_numbers.py")
    monkeypatch.setattr(base, "_REGISTRY", dict(base.registered_processors()))
    exec(block("in", "actors/ocr/processors/base.py"),  # noqa: S102 - the guide's code
         {**vars(base), "OrderNumberProcessor": module.OrderNumberProcessor})
    assert "order_numbers" in base.registered_processors()
    assert "def _ensure_builtins" in (REPO_ROOT / "actors/ocr/processors/base.py").read_text()
    order = encode(text_page(["Thank you for your purchase", "Order No: 48213",
                              "Total 12.50"], size=(1000, 360), top=40), "PNG")
    letter = encode(text_page(["The quick brown fox jumps over the lazy dog."],
                              size=(1000, 200), top=40), "PNG")
    fast = OcrOptions(strategy=Strategy.SINGLE)
    result = process_document(order, fast)
    assert result.fields["order_numbers"] == {"order_numbers": ["48213"]}
    assert "receipt" in base.registered_processors()  # beside the built-in ones
    assert "order_numbers" not in process_document(letter, fast).fields  # detect: no order
