"""Model version retention: registering a version keeps the newest `model_keep_versions`
of its name plus the current and pinned ones (SQLite and PostgreSQL), and
`armillary models list|pin|unpin|prune`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from cluster.cli import main
from storage.records.models import ModelRegistry
from storage.registry import open_backend


async def register(registry: ModelRegistry, name: str, count: int,
                   make_current: bool = True) -> None:
    for i in range(count):
        await registry.register(name, f"file:///m/{name}-{i}", {"i": i}, {}, "test",
                                make_current=make_current)


async def versions(registry: ModelRegistry, name: str) -> list[int]:
    return sorted(v.version for v in await registry.versions(name))


async def test_register_keeps_newest_current_and_pinned(database: Any) -> None:
    registry = ModelRegistry(database, keep_versions=3)
    await register(registry, "clv", 2)
    assert await registry.pin("clv", 1) is not None
    await register(registry, "clv", 5)
    # 7 registered: newest 3 (5, 6, 7) + pinned 1
    assert await versions(registry, "clv") == [1, 5, 6, 7]
    assert (await registry.current("clv")).version == 7  # type: ignore[union-attr]

    # a current version that is no longer among the newest stays too
    await registry.promote("clv", 5)
    await register(registry, "clv", 3, make_current=False)
    assert await versions(registry, "clv") == [1, 5, 8, 9, 10]
    assert (await registry.current("clv")).version == 5  # type: ignore[union-attr]

    # other names are untouched; unpinning lets the next register delete it
    other = ModelRegistry(database)  # no retention: keeps everything
    await register(other, "uplift", 12)
    assert len(await versions(other, "uplift")) == 12
    unpinned = await registry.pin("clv", 1, pinned=False)
    assert unpinned is not None and not unpinned.pinned
    await registry.promote("clv", 10)
    await register(registry, "clv", 1)
    assert await versions(registry, "clv") == [9, 10, 11]
    assert len(await versions(other, "uplift")) == 12
    assert await registry.pin("clv", 1) is None  # gone: nothing to pin
    with pytest.raises(ValueError):
        await registry.prune("clv", 0)


def test_the_default_is_ten() -> None:
    from config.settings import Settings

    assert Settings(environment="test").model_keep_versions == 10


async def six_versions(url: str) -> None:
    db = open_backend("database", url)
    try:
        await db.migrate()
        await register(ModelRegistry(db), "crypto-btc", 6)
    finally:
        await db.close()


def test_models_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    asyncio.run(six_versions(url))
    monkeypatch.setenv("ARMILLARY_ENVIRONMENT", "test")
    monkeypatch.setenv("ARMILLARY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ARMILLARY_DATABASE_URL", url)
    monkeypatch.setenv("ARMILLARY_MODEL_KEEP_VERSIONS", "2")

    def cli(*args: str) -> Any:
        code = main(["models", *args])
        out = capsys.readouterr()
        return code, (json.loads(out.out) if code == 0 else out.err)

    code, listed = cli("list")
    assert code == 0 and [v["version"] for v in listed["crypto-btc"]] == [6, 5, 4, 3, 2, 1]
    assert cli("pin", "crypto-btc", "2") == (0, {"name": "crypto-btc", "version": 2,
                                                  "pinned": True})
    code, err = cli("pin", "crypto-btc", "99")
    assert code == 1 and "no version 99" in err
    assert cli("prune") == (0, {"deleted": {"crypto-btc": [4, 3, 1]}, "keep": 2})
    code, listed = cli("list", "crypto-btc")
    assert [(v["version"], v["pinned"]) for v in listed["crypto-btc"]] == [
        (6, False), (5, False), (2, True)]
    assert cli("unpin", "crypto-btc", "2")[0] == 0
    assert cli("prune", "crypto-btc", "--keep", "1") == (
        0, {"deleted": {"crypto-btc": [5, 2]}, "keep": 1})
