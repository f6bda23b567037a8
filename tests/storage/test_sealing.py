"""Secret material at rest (issue 13): API-key digests are stored encrypted with the
settings' keys, production refuses to start without a key, and `armillary keys rotate`
re-encrypts every row with a new first key (the old key can then be dropped)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.cli import main
from config.settings import Settings
from storage.records.api_keys import ApiKeys
from storage.registry import open_backend
from storage.sealing import Sealer, SealError, new_key


def test_production_needs_an_encryption_key() -> None:
    secure = {"environment": "production", "jwt_secret": "j" * 40, "admin_password": "p" * 20}
    with pytest.raises(ValueError, match="ARMILLARY_ENCRYPTION_KEYS"):
        Settings(**secure)
    Settings(**secure, encryption_keys=new_key())


def test_api_key_digests_are_sealed_and_rotated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = new_key(), new_key()
    url = f"sqlite:///{tmp_path}/db.sqlite"

    async def create() -> tuple[str, str]:
        db = open_backend("database", url)
        await db.migrate()
        _, key = await ApiKeys(db, Sealer([old])).create("svc", "viewer", "u1")
        stored = await db.fetchval("SELECT key_hash FROM api_keys")
        await db.close()
        return key, stored

    async def verify(keys: list[str], presented: str) -> tuple[bool, str]:
        db = open_backend("database", url)
        try:
            ok = await ApiKeys(db, Sealer(keys)).verify(presented) is not None
            return ok, await db.fetchval("SELECT key_hash FROM api_keys")
        finally:
            await db.close()

    key, stored = asyncio.run(create())
    assert stored.startswith("enc:") and len(stored) > 100  # not the bare SHA-256 digest
    assert asyncio.run(verify([old], key))[0]
    assert not asyncio.run(verify([old], key[:-2] + "xx"))[0]

    monkeypatch.setenv("ARMILLARY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ARMILLARY_DATABASE_URL", url)
    monkeypatch.setenv("ARMILLARY_ENCRYPTION_KEYS", f"{new},{old}")
    assert main(["keys", "rotate"]) == 0
    ok, rotated = asyncio.run(verify([new], key))  # the old key is no longer needed
    assert ok and rotated != stored
    with pytest.raises(SealError):
        asyncio.run(verify([old], key))
