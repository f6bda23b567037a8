"""`armillary backup` / `armillary restore`: the Database and the Warehouse into one
archive and back, compared table by table (embedded SQLite + chDB through the CLI, each
chDB in its own process; PostgreSQL to PostgreSQL and to SQLite in process), and the
refusals: a corrupt or foreign archive, a newer schema, a non-empty target without
--force (exit 1 with a message, nothing changed)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from cluster.cli import main
from storage.backup import run
from storage.backup.archive import BackupError
from storage.backup.database import table_names
from storage.database.base import Database
from storage.records.audit import AuditEntry, AuditLog
from storage.records.jobs import JobBlobs, Jobs
from storage.records.models import ModelRegistry
from storage.records.refresh_tokens import RefreshTokens
from storage.records.users import Users
from storage.registry import open_backend
from tests.conftest import postgres_url
from tests.storage.conftest import _connected

ROOT = Path(__file__).resolve().parents[2]
BLOB = bytes(range(256)) * 40 + b"\x00end"

# Filled in a child process: a chDB folder is held by one process, and the test process
# has its own (the session's) already.
FILL_WAREHOUSE = """
import asyncio, datetime, sys
from storage.registry import open_backend
async def fill():
    w = open_backend("warehouse", sys.argv[1])
    await w.command("CREATE TABLE candles (ts DateTime64(3, 'UTC'), symbol LowCardinality(String),"
                    " close Float64, volume Nullable(Float64), n UInt64, tags Array(String),"
                    " day Date) ENGINE = MergeTree ORDER BY (symbol, ts)")
    rows = [[datetime.datetime(2024, 1, 1) + datetime.timedelta(hours=i), "BTC/USDT",
             40000.5 + i / 7, None if i % 5 == 0 else i * 1.25, 2**64 - 1 - i,
             ["a", 'q"\\t\\n'] if i % 2 else [], datetime.date(2024, 1, 1)]
            for i in range(3000)]
    rows.append([datetime.datetime(2024, 6, 1), "ETH/USDT", float("nan"), float("inf"), 0,
                 ["\\u00fcn\\u00ef"], datetime.date(1970, 1, 1)])
    await w.insert("candles", rows, ["ts", "symbol", "close", "volume", "n", "tags", "day"])
    await w.command("CREATE TABLE pages (doc String, page UInt32, text String)"
                    " ENGINE = ReplacingMergeTree ORDER BY (doc, page)")
    await w.insert("pages", [["d1", 1, "line one\\nline two\\ttab"], ["d1", 2, ""]],
                   ["doc", "page", "text"])
    await w.command("CREATE VIEW btc AS SELECT * FROM candles WHERE symbol = 'BTC/USDT'")
    await w.close()
asyncio.run(fill())
"""

DUMP_WAREHOUSE = """
import asyncio, json, sys
from storage.registry import open_backend
async def dump():
    w = open_backend("warehouse", sys.argv[1])
    out = {}
    names = (await w.query("SELECT name, engine FROM system.tables WHERE database = "
                           "currentDatabase() ORDER BY name")).rows
    for name, engine in names:
        rows = (await w.query(f"SELECT * FROM `{name}` ORDER BY ALL")).rows
        out[name] = [engine, [repr(r) for r in rows]]
    print(json.dumps(out))
    await w.close()
asyncio.run(dump())
"""


def env_for(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "ARMILLARY_ENVIRONMENT": "test",
            "ARMILLARY_DATA_DIR": str(data_dir),
            "ARMILLARY_DATABASE_URL": f"sqlite:///{data_dir}/db.sqlite",
            "ARMILLARY_WAREHOUSE_URL": f"chdb:///{data_dir}/warehouse"}


def python(script: str, data_dir: Path) -> str:
    done = subprocess.run([sys.executable, "-c", script, f"chdb://{data_dir}/warehouse"],
                          env=env_for(data_dir), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def armillary(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cluster.cli", *args], cwd=ROOT,
                          env=env_for(data_dir), capture_output=True, text=True,
                          timeout=300, check=False)


async def fill_database(db: Database) -> None:
    """Rows in every kind of record, bytes included (blobs), with a foreign key
    (refresh tokens → users)."""
    await db.migrate()
    users = Users(db)
    owner = await users.create("alice", "hash-not-a-password", "admin")
    await users.create("bob \u00fcn\u00ef", "h2", "viewer")
    await RefreshTokens(db, 3600).issue(owner.id)
    job = await Jobs(db).create("analytics.import", owner.id, {"table": "t", "n": [1, 2.5]})
    await JobBlobs(db).put(job.id, "upload", BLOB)
    await ModelRegistry(db).register("clv", "file:///m/clv-1", {"mae": 0.25}, {}, "test")
    await ModelRegistry(db).register("clv", "file:///m/clv-2", {"mae": 0.125}, {}, "test")
    await AuditLog(db).record(AuditEntry(owner.id, "POST", "/api/v1/users", 201, "r1",
                                         {"note": "x" * 50}))


async def contents(db: Database) -> dict[str, list[str]]:
    """Every table's rows (sorted reprs): compared table by table."""
    out = {}
    for table in await table_names(db, db.dialect):
        rows = await db.fetch(f'SELECT * FROM "{table}"')
        out[table] = sorted(repr(sorted((k, bytes(v) if isinstance(v, memoryview) else v)
                                        for k, v in row.items())) for row in rows)
    return out


async def test_embedded_backup_and_restore_through_the_cli(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir()
    target.mkdir()
    source_db = open_backend("database", f"sqlite:///{source}/db.sqlite")
    target_db = open_backend("database", f"sqlite:///{target}/db.sqlite")
    try:
        await fill_database(source_db)
        await source_db.close()
        python(FILL_WAREHOUSE, source)
        archive = tmp_path / "backup.tar.gz"

        made = armillary(source, "backup", str(archive))
        assert made.returncode == 0, made.stderr
        report = json.loads(made.stdout)
        assert report["tables"]["warehouse"]["candles"] == 3001
        assert report["tables"]["database"]["users"] == 2
        manifest = run.read(archive).manifest
        assert manifest.parts["database"]["schema_version"] == report["schema_version"]
        assert manifest.parts["database"]["tables"]["job_blobs"]["rows"] == 1

        restored = armillary(target, "restore", str(archive))
        assert restored.returncode == 0, restored.stderr
        before, after = await contents(source_db), await contents(target_db)
        assert set(before) == set(after)
        for table in before:
            assert before[table] == after[table], table
        assert len(after["users"]) == 2 and len(after["models"]) == 2
        assert len(after["refresh_tokens"]) == 1
        assert [r["data"] for r in await target_db.fetch("SELECT data FROM job_blobs")] == [BLOB]
        await target_db.close()

        source_wh = json.loads(python(DUMP_WAREHOUSE, source))
        target_wh = json.loads(python(DUMP_WAREHOUSE, target))
        assert set(source_wh) == {"candles", "pages", "btc"}
        for table in source_wh:
            assert source_wh[table] == target_wh[table], table
        assert len(target_wh["candles"][1]) == 3001 and "nan" in target_wh["candles"][1][-1]

        again = armillary(target, "restore", str(archive))
        assert again.returncode == 1, again.stderr
        assert "not empty" in again.stderr and "--force" in again.stderr
        forced = armillary(target, "restore", str(archive), "--force", "--only", "warehouse")
        assert forced.returncode == 0, forced.stderr
        assert json.loads(python(DUMP_WAREHOUSE, target)) == source_wh
    finally:
        await source_db.close()
        await target_db.close()


def rewrite(archive: Path, out: Path, change: Any) -> None:
    """A copy of `archive` with `change(members)` applied to its {name: bytes}."""
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    change(members)
    with tarfile.open(out, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
async def sqlite_archive(tmp_path: Path) -> Path:
    db = open_backend("database", f"sqlite:///{tmp_path}/src.sqlite")
    await fill_database(db)
    archive = tmp_path / "db.tar.gz"
    await run.backup(archive, db, None)
    await db.close()
    return archive


def refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive: Path,
            capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """`armillary restore` (in process, database only) exits 1; its message."""
    target = tmp_path / "refusing"
    for name, value in env_for(target).items():
        if name.startswith("ARMILLARY_"):
            monkeypatch.setenv(name, value)
    assert main(["restore", str(archive), "--only", "database", *extra]) == 1
    return capsys.readouterr().err


def test_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_archive: Path,
                  capsys: pytest.CaptureFixture[str]) -> None:
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(sqlite_archive.read_bytes()[:-200])
    assert "not a readable tar.gz" in refused(tmp_path, monkeypatch, truncated, capsys)

    foreign = tmp_path / "foreign.tar.gz"
    rewrite(sqlite_archive, foreign, lambda m: m.pop("manifest.json"))
    assert "no manifest.json" in refused(tmp_path, monkeypatch, foreign, capsys)

    def flip(members: dict[str, bytes]) -> None:
        members["database/users.jsonl"] = members["database/users.jsonl"].replace(
            b"alice", b"mallory")
    tampered = tmp_path / "tampered.tar.gz"
    rewrite(sqlite_archive, tampered, flip)
    assert "checksum mismatch" in refused(tmp_path, monkeypatch, tampered, capsys)

    def newer(members: dict[str, bytes]) -> None:
        manifest = json.loads(members["manifest.json"])
        manifest["parts"]["database"]["migrations"].append("9999_from_the_future")
        manifest["parts"]["database"]["schema_version"] = "9999_from_the_future"
        members["manifest.json"] = json.dumps(manifest).encode()
    future = tmp_path / "future.tar.gz"
    rewrite(sqlite_archive, future, newer)
    message = refused(tmp_path, monkeypatch, future, capsys)
    assert "newer than this version" in message and "9999_from_the_future" in message
    assert not (tmp_path / "refusing" / "db.sqlite").exists() or not sqlite_tables(
        tmp_path / "refusing" / "db.sqlite")

    assert main(["restore", str(sqlite_archive), "--only", "database"]) == 0
    capsys.readouterr()
    message = refused(tmp_path, monkeypatch, sqlite_archive, capsys)
    assert "not empty" in message and "users" in message
    assert main(["restore", str(sqlite_archive), "--only", "database", "--force"]) == 0
    capsys.readouterr()
    # a database-only archive: refused before any store is opened
    assert main(["restore", str(sqlite_archive), "--only", "warehouse"]) == 1
    assert "holds no warehouse" in capsys.readouterr().err


def sqlite_tables(path: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name != 'schema_migrations'")]


async def _postgres(schema: str) -> Database:
    sep = "&" if "?" in postgres_url() else "?"
    db: Database = open_backend("database", f"{postgres_url()}{sep}schema={schema}")
    return await _connected(db, "PostgreSQL")


async def test_postgres_restores_into_postgres_and_sqlite(tmp_path: Path) -> None:
    source = await _postgres(f"bk_{uuid.uuid4().hex[:10]}")
    target = await _postgres(f"bk_{uuid.uuid4().hex[:10]}")
    lite = open_backend("database", f"sqlite:///{tmp_path}/restored.sqlite")
    try:
        await fill_database(source)
        archive = tmp_path / "pg.tar.gz"
        await run.backup(archive, source, None)
        restored = await run.restore(archive, target, None, only="database")
        assert restored["database"]["users"] == 2
        expected = await contents(source)
        assert await contents(target) == expected
        await run.restore(archive, lite, None, only="database")
        assert await contents(lite) == expected
        with pytest.raises(BackupError, match="not empty"):
            await run.restore(archive, target, None, only="database")
    finally:
        for db in (source, target):
            await db.drop_schema()  # type: ignore[attr-defined]
            await db.close()
        await lite.close()
