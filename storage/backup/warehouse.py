"""The Warehouse's part of a backup: every table of the current database, its DDL and its
rows in ClickHouse's TabSeparated format (lossless for every type: NaN, 64-bit integers,
arrays, nullables, dates). Views are recreated from their DDL after the tables.

Restore: each table of the archive is created in the target's current database (dropped
first with --force) and its rows inserted."""

from __future__ import annotations

import re
from typing import Any

from storage.backup.archive import ArchiveReader, ArchiveWriter, BackupError
from storage.warehouse.base import Warehouse

PART = "warehouse"
_VIEWS = ("View", "MaterializedView", "LiveView", "WindowView")
_CREATE = re.compile(
    r"^CREATE (TABLE|VIEW|MATERIALIZED VIEW) (`?[^\s.`]+`?\.)?(`?[^\s`(]+`?)", re.IGNORECASE)
_EXACT = ("MergeTree", "Log", "TinyLog", "StripeLog", "Memory")
"""Engines whose row count is what was inserted (Replacing-, Summing-... MergeTrees may
merge rows in the background)."""
CHUNK_BYTES = 4 * 1024 * 1024


def _portable_ddl(ddl: str) -> str:
    """The DDL without its database name: it is replayed in the target's current one."""
    return _CREATE.sub(lambda m: f"CREATE {m.group(1)} {m.group(3)}", ddl, count=1)


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


async def tables(warehouse: Warehouse) -> list[dict[str, Any]]:
    result = await warehouse.query(
        "SELECT name, engine, create_table_query FROM system.tables "
        "WHERE database = currentDatabase() AND NOT is_temporary "
        "AND NOT startsWith(name, '.inner') ORDER BY name")
    return result.dicts()


async def server_version(warehouse: Warehouse) -> str:
    return str((await warehouse.query("SELECT version() AS v")).rows[0][0])


async def dump(warehouse: Warehouse, archive: ArchiveWriter) -> dict[str, Any]:
    """Write every table into `archive`; returns the manifest part."""
    part: dict[str, Any] = {"backend": "clickhouse", "version": await server_version(warehouse),
                            "tables": {}}
    for table in await tables(warehouse):
        name = str(table["name"])
        entry: dict[str, Any] = {"engine": table["engine"],
                                 "ddl": _portable_ddl(str(table["create_table_query"]))}
        if table["engine"] not in _VIEWS:
            result = await warehouse.query(
                f"SELECT formatRow('TabSeparated', *) AS row FROM {_quoted(name)}")
            archive.add(f"{PART}/{name}.tsv", "".join(r[0] for r in result.rows).encode())
            entry["rows"] = len(result.rows)
        part["tables"][name] = entry
    return part


async def row_count(warehouse: Warehouse, name: str) -> int:
    result = await warehouse.query(f"SELECT count() FROM {_quoted(name)}")
    return int(result.rows[0][0])


async def non_empty(warehouse: Warehouse, names: set[str]) -> dict[str, int]:
    """Tables among `names` that exist in `warehouse` and hold rows."""
    counts = {}
    for table in await tables(warehouse):
        if table["name"] in names and table["engine"] not in _VIEWS:
            count = await row_count(warehouse, str(table["name"]))
            if count:
                counts[str(table["name"])] = count
    return counts


def _chunks(text: str) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        current.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            chunks.append("".join(current))
            current, size = [], 0
    if current:
        chunks.append("".join(current))
    return chunks


async def load(warehouse: Warehouse, reader: ArchiveReader, force: bool) -> dict[str, int]:
    """Restore the Warehouse part of `reader` into `warehouse`; returns rows per table."""
    part = reader.manifest.parts.get(PART)
    if part is None:
        raise BackupError("the archive holds no warehouse")
    wanted: dict[str, Any] = part["tables"]
    present = await non_empty(warehouse, set(wanted))
    if present and not force:
        raise BackupError(f"the target warehouse is not empty ({present}); restore with "
                          "--force to replace these tables")
    restored: dict[str, int] = {}
    order = sorted(wanted, key=lambda n: (wanted[n]["engine"] in _VIEWS, n))
    for name in reversed(order):
        await warehouse.command(f"DROP TABLE IF EXISTS {_quoted(name)}")
    for name in order:
        entry = wanted[name]
        await warehouse.command(entry["ddl"])
        if entry["engine"] in _VIEWS:
            continue
        for chunk in _chunks(reader.read(f"{PART}/{name}.tsv").decode()):
            await warehouse.command(f"INSERT INTO {_quoted(name)} FORMAT TabSeparated\n{chunk}")
        count = await row_count(warehouse, name)
        if entry["engine"] in _EXACT and count != entry["rows"]:
            raise BackupError(f"warehouse table {name}: {count} rows after the restore, "
                              f"the manifest says {entry['rows']}")
        restored[name] = count
    return restored
