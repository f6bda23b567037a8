"""The one model-version rule (`VersionResolver`), on a real registry: the pinned version
wins, else the current one; a new current version is picked up only once ``refresh_s`` has
passed; a pinned version that does not exist is a clear error. Both services serve by it."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.records.models import (
    ModelRegistry,
    UnknownVersionError,
    VersionResolver,
)
from storage.registry import open_backend
from tests.support import REPO_ROOT

NAME = "clv_cdnow"


class Clock:
    """Time that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[ModelRegistry]:
    db = open_backend("database", f"sqlite:///{tmp_path}/models.db")
    await db.connect()
    await db.migrate()
    try:
        yield ModelRegistry(db)
    finally:
        await db.close()


async def register(registry: ModelRegistry, name: str = NAME) -> int:
    record = await registry.register(name, f"file:///tmp/{name}", {}, {}, "test")
    return record.version


async def test_current_version_unless_pinned(registry: ModelRegistry) -> None:
    resolver = VersionResolver(registry, refresh_s=0.0)
    assert await resolver.resolve(NAME) is None  # nothing registered yet
    await register(registry)
    await register(registry)
    current = await resolver.resolve(NAME)
    assert current is not None and current.version == 2 and current.is_current
    pinned = await resolver.resolve(NAME, 1)
    assert pinned is not None and pinned.version == 1 and not pinned.is_current


async def test_a_new_current_version_waits_for_refresh_s(registry: ModelRegistry) -> None:
    clock = Clock()
    resolver = VersionResolver(registry, refresh_s=5.0, clock=clock)
    await register(registry)
    first = await resolver.resolve(NAME)
    assert first is not None and first.version == 1
    await register(registry)  # v2 becomes current
    clock.now += 4.9
    assert not resolver.due(NAME)
    assert (await resolver.resolve(NAME)) == first  # the answer still stands
    forced = await resolver.resolve(NAME, force=True)
    assert forced is not None and forced.version == 2
    await register(registry)  # v3
    clock.now += 4.9
    assert (await resolver.resolve(NAME)) == forced
    clock.now += 0.1
    assert resolver.due(NAME)
    later = await resolver.resolve(NAME)
    assert later is not None and later.version == 3
    # a pin is resolved on its own, at once; forget() asks again for everything
    assert (await resolver.resolve(NAME, 1)) is not None
    await register(registry)  # v4
    resolver.forget()
    latest = await resolver.resolve(NAME)
    assert latest is not None and latest.version == 4


async def test_refresh_s_may_change_at_runtime(registry: ModelRegistry) -> None:
    clock, refresh = Clock(), [60.0]
    resolver = VersionResolver(registry, lambda: refresh[0], clock)
    await register(registry)
    await resolver.resolve(NAME)
    await register(registry)
    clock.now += 1.0
    assert (await resolver.resolve(NAME)).version == 1  # type: ignore[union-attr]
    refresh[0] = 0.0  # the next answer stands for no time at all
    resolver.forget()
    assert (await resolver.resolve(NAME)).version == 2  # type: ignore[union-attr]
    assert resolver.due(NAME)


async def test_a_pinned_version_that_does_not_exist_is_a_clear_error(
        registry: ModelRegistry) -> None:
    resolver = VersionResolver(registry, refresh_s=60.0)
    with pytest.raises(UnknownVersionError, match=r"'clv_cdnow' is pinned to version 3, but it "
                                                  r"has no version 3; registered versions: none"):
        await resolver.resolve(NAME, 3)
    await register(registry)
    await register(registry)
    with pytest.raises(UnknownVersionError, match="registered versions: 1, 2") as caught:
        await resolver.resolve(NAME, 3)
    assert (caught.value.name, caught.value.version) == (NAME, 3)
    assert isinstance(caught.value, LookupError)
    assert resolver.due(NAME, 3)  # an error is not remembered: the next call asks again
    await register(registry)
    pinned = await resolver.resolve(NAME, 3)
    assert pinned is not None and pinned.version == 3


def test_the_services_resolve_versions_through_it() -> None:
    """No service asks the registry for a current or pinned version on its own."""
    for path in ("deployments/analytics/models.py", "deployments/crypto/models.py"):
        tree = ast.parse((REPO_ROOT / path).read_text())
        called = {node.func.attr for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
        assert "current" not in called, path
        assert "VersionResolver" in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
