"""Schema migrations: numbered ``NNNN_name.sql`` files in ``storage/migrations``,
each applied once, in order, inside a transaction, recorded in ``schema_migrations``."""

from __future__ import annotations

import time
from importlib import resources

from storage.database.base import Database

_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every migration shipped with the package, in order."""
    folder = resources.files("storage") / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in files]


def statements(sql: str) -> list[str]:
    """Split a migration into statements (one per ``;`` at a line end; no ``;`` in strings)."""
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";")]


async def apply_migrations(db: Database) -> list[str]:
    applied: list[str] = []
    async with db.migration_lock() as tx:
        await tx.execute(_TABLE)
        done = {r["version"] for r in await tx.fetch("SELECT version FROM schema_migrations")}
        for version, sql in migration_files():
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
