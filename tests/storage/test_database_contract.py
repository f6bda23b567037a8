"""Database contract: every backend behaves the same."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from storage.database.migrations import migration_files
from storage.errors import ConflictError

INSERT_USER = (
    "INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at)"
    " VALUES ($1, $2, 'h', 'viewer', 0, $3, $3)"
)


async def test_migrations_applied_once_and_recorded(database: Any) -> None:
    versions = [v for v, _ in migration_files()]
    recorded = await database.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in recorded] == versions
    assert await database.migrate() == []


async def test_types_round_trip(database: Any) -> None:
    await database.execute(INSERT_USER, "u1", "ann", 1.5)
    row = await database.fetchrow("SELECT * FROM users WHERE id = $1", "u1")
    assert row == {
        "id": "u1", "username": "ann", "password_hash": "h", "role": "viewer",
        "disabled": 0, "created_at": 1.5, "updated_at": 1.5,
    }
    assert await database.fetchval("SELECT count(*) FROM users") == 1
    assert await database.fetchrow("SELECT * FROM users WHERE id = $1", "nope") is None


async def test_unique_violation_is_a_conflict(database: Any) -> None:
    await database.execute(INSERT_USER, "u1", "ann", 1.0)
    with pytest.raises(ConflictError):
        await database.execute(INSERT_USER, "u2", "ann", 1.0)


async def test_execute_reports_affected_rows(database: Any) -> None:
    for i in range(3):
        await database.execute(INSERT_USER, f"u{i}", f"name{i}", 1.0)
    assert await database.execute("UPDATE users SET role = 'admin' WHERE id <> $1", "u0") == 2


async def test_transaction_rolls_back_on_error(database: Any) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction() as tx:
            await tx.execute(INSERT_USER, "u1", "ann", 1.0)
            raise RuntimeError("boom")
    assert await database.fetchval("SELECT count(*) FROM users") == 0
    async with database.transaction() as tx:
        await tx.execute(INSERT_USER, "u1", "ann", 1.0)
        await tx.execute(INSERT_USER, "u2", "bob", 1.0)
    assert await database.fetchval("SELECT count(*) FROM users") == 2


async def test_concurrent_statements(database: Any) -> None:
    await asyncio.gather(*(database.execute(INSERT_USER, f"u{i}", f"n{i}", 1.0) for i in range(20)))
    assert await database.fetchval("SELECT count(*) FROM users") == 20
