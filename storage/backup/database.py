"""The Database's part of a backup: every table's rows (``schema_migrations`` aside: the
manifest records the schema version), in the portable SQL of `storage.database`.

Restore: the target is migrated to the archive's schema version, its rows are loaded in
one transaction (parents before children of a foreign key), then the newer migrations
of this version run on them."""

from __future__ import annotations

from typing import Any

from storage.backup.archive import ArchiveReader, ArchiveWriter, BackupError
from storage.backup.values import dump_line, load_line
from storage.database.base import Database, Queries
from storage.database.migrations import applied_versions, apply_migrations, migration_files

PART = "database"
_SKIP = {"schema_migrations"}


async def table_names(db: Queries, dialect: str) -> list[str]:
    if dialect == "sqlite":
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table' "
                              "AND name NOT LIKE 'sqlite_%' ORDER BY name")
    else:
        rows = await db.fetch("SELECT table_name AS name FROM information_schema.tables "
                              "WHERE table_schema = current_schema() "
                              "AND table_type = 'BASE TABLE' ORDER BY table_name")
    return [str(r["name"]) for r in rows if r["name"] not in _SKIP]


async def _parents(db: Queries, dialect: str, table: str) -> set[str]:
    """Tables `table` has a foreign key to."""
    if dialect == "sqlite":
        rows = await db.fetch(f'SELECT "table" AS parent FROM pragma_foreign_key_list(\'{table}\')')
    else:
        rows = await db.fetch(
            "SELECT ccu.table_name AS parent FROM information_schema.table_constraints tc "
            "JOIN information_schema.constraint_column_usage ccu "
            "ON tc.constraint_name = ccu.constraint_name "
            "AND tc.constraint_schema = ccu.constraint_schema "
            "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name = $1 "
            "AND tc.table_schema = current_schema()", table)
    return {str(r["parent"]) for r in rows} - {table}


async def load_order(db: Queries, dialect: str, tables: list[str]) -> list[str]:
    """`tables` with every table after the tables it references."""
    parents = {t: await _parents(db, dialect, t) & set(tables) for t in tables}
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, p in parents.items() if p <= set(ordered))
        if not ready:
            raise BackupError(f"foreign keys form a cycle among {sorted(parents)}")
        ordered.extend(ready)
        for t in ready:
            del parents[t]
    return ordered


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def dump(db: Database, archive: ArchiveWriter) -> dict[str, Any]:
    """Write every table into `archive`; returns the manifest part."""
    versions = await applied_versions(db)
    tables: dict[str, Any] = {}
    async with db.transaction() as tx:  # one consistent snapshot (PostgreSQL: one xact)
        for table in await table_names(tx, db.dialect):
            rows = await tx.fetch(f"SELECT * FROM {_quoted(table)}")
            columns = list(rows[0]) if rows else await _columns(tx, db.dialect, table)
            lines = [dump_line([row[c] for c in columns]) for row in rows]
            archive.add(f"{PART}/{table}.jsonl", ("\n".join(lines) + "\n").encode()
                        if lines else b"")
            tables[table] = {"columns": columns, "rows": len(rows)}
    return {"backend": db.dialect, "schema_version": versions[-1] if versions else None,
            "migrations": versions, "tables": tables}


async def _columns(db: Queries, dialect: str, table: str) -> list[str]:
    if dialect == "sqlite":
        rows = await db.fetch(f"SELECT name FROM pragma_table_info('{table}') ORDER BY cid")
    else:
        rows = await db.fetch("SELECT column_name AS name FROM information_schema.columns "
                              "WHERE table_schema = current_schema() AND table_name = $1 "
                              "ORDER BY ordinal_position", table)
    return [str(r["name"]) for r in rows]


def check_schema(part: dict[str, Any]) -> None:
    """Refuse an archive whose schema is newer than this version's migrations."""
    known = [v for v, _ in migration_files()]
    unknown = [v for v in part.get("migrations", []) if v not in known]
    if unknown:
        raise BackupError(f"the backup's database schema is newer than this version "
                          f"(migrations {unknown} unknown here; newest known "
                          f"{known[-1]}): upgrade Armillary before restoring")


async def non_empty(db: Database) -> dict[str, int]:
    """Tables of `db` that hold rows, with their counts."""
    counts = {}
    for table in await table_names(db, db.dialect):
        count = int(await db.fetchval(f"SELECT count(*) FROM {_quoted(table)}"))
        if count:
            counts[table] = count
    return counts


async def load(db: Database, reader: ArchiveReader, force: bool) -> dict[str, int]:
    """Restore the Database part of `reader` into `db`; returns rows per table."""
    part = reader.manifest.parts.get(PART)
    if part is None:
        raise BackupError("the archive holds no database")
    check_schema(part)
    if part["schema_version"] is not None:
        await apply_migrations(db, until=part["schema_version"])
    present = await non_empty(db)
    if present and not force:
        raise BackupError(f"the target database is not empty ({present}); restore with "
                          "--force to replace its contents")
    restored: dict[str, int] = {}
    async with db.transaction() as tx:
        existing = await table_names(tx, db.dialect)
        missing = sorted(set(part["tables"]) - set(existing))
        if missing:
            raise BackupError(f"the target database has no tables {missing}")
        for table in reversed(await load_order(tx, db.dialect, existing)):
            await tx.execute(f"DELETE FROM {_quoted(table)}")
        for table in await load_order(tx, db.dialect, sorted(part["tables"])):
            columns = part["tables"][table]["columns"]
            names = ", ".join(_quoted(c) for c in columns)
            marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            sql = f"INSERT INTO {_quoted(table)} ({names}) VALUES ({marks})"
            count = 0
            for line in reader.read(f"{PART}/{table}.jsonl").decode().splitlines():
                if line:
                    await tx.execute(sql, *load_line(line))
                    count += 1
            if count != part["tables"][table]["rows"]:
                raise BackupError(f"{table}: {count} rows in the archive, the manifest "
                                  f"says {part['tables'][table]['rows']}")
            restored[table] = count
    await db.migrate()  # migrations newer than the archive's, on the restored rows
    return restored
