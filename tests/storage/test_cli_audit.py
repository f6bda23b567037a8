"""Users and API keys made with the CLI (`armillary user create`, `armillary apikey
create`, straight on the Database) leave audit rows, as the API's own changes do."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster import cli
from storage.records.audit import AuditLog
from storage.registry import open_backend


async def _rows(url: str) -> list[dict[str, Any]]:
    db = open_backend("database", url)
    await db.connect()
    try:
        return await AuditLog(db).recent(limit=50)
    finally:
        await db.close()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ARMILLARY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ARMILLARY_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    return f"sqlite:///{tmp_path}/cli.db"


def test_cli_user_and_key_creation_are_audited(db_url: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["user", "create", "boss", "--role", "admin",
                     "--password", "a long enough password"]) == 0
    assert cli.main(["apikey", "create", "nightly", "--role", "analyst", "--owner", "boss"]) == 0
    assert cli.main(["user", "create", "boss", "--password", "a long enough password"]) == 1
    assert cli.main(["apikey", "create", "x", "--owner", "nobody"]) == 1
    capsys.readouterr()
    rows = sorted(asyncio.run(_rows(db_url)), key=lambda r: r["at"])
    assert [(r["method"], r["path"], r["status"], r["outcome"]) for r in rows] == [
        ("CLI", "armillary user create", 201, "success"),
        ("CLI", "armillary apikey create", 201, "success"),
        ("CLI", "armillary user create", 409, "failure"),
        ("CLI", "armillary apikey create", 403, "denied"),
    ]
    assert all(r["actor"].startswith("cli:") for r in rows)
    made_user, made_key = rows[0]["detail"], rows[1]["detail"]
    assert made_user["username"] == "boss" and made_user["role"] == "admin"
    assert made_user["user_id"]
    assert made_key["name"] == "nightly" and made_key["owner"] == "boss" and made_key["key_id"]
    assert "already exists" in rows[2]["detail"]["error"]
    # the key itself is never in the audit log
    assert all("key" not in r["detail"] for r in rows)
