"""Schema migrations: numbered ``NNNN_name.sql`` files in ``storage/migrations``,
each applied once, in order, inside a transaction, recorded in ``schema_migrations``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from storage.database.base import Database, Queries

_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)


@asynccontextmanager
async def _as_is(queries: Queries) -> AsyncIterator[Queries]:
    yield queries


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every migration shipped with the package, in order."""
    folder = resources.files("storage") / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in files]


def statements(sql: str) -> list[str]:
    """Split a migration into statements (one per ``;`` at a line end; no ``;`` in strings)."""
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";")]


async def applied_versions(db: Queries) -> list[str]:
    """Versions recorded in ``schema_migrations`` (none when the table does not exist)."""
    async with db.transaction() if isinstance(db, Database) else _as_is(db) as tx:
        await tx.execute(_TABLE)
        rows = await tx.fetch("SELECT version FROM schema_migrations ORDER BY version")
    return [r["version"] for r in rows]


async def apply_migrations(db: Database, until: str | None = None) -> list[str]:
    """Apply the pending migrations, in order; with `until`, only those up to that
    version (a restore loads rows at the schema they were saved with)."""
    applied: list[str] = []
    async with db.migration_lock() as tx:
        await tx.execute(_TABLE)
        done = {r["version"] for r in await tx.fetch("SELECT version FROM schema_migrations")}
        for version, sql in migration_files():
            if until is not None and version > until:
                break
            if version in done:
                continue
            for statement in statements(sql):
                await tx.execute(statement.rstrip(";"))
            await tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                version,
                time.time(),
            )
            applied.append(version)
    return applied
