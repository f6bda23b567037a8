"""`backup` and `restore` of the Database and the Warehouse (what `armillary backup` and
`armillary restore` call). A restore checks the whole archive, the schema version and
that each target is empty (unless `force`) before it changes anything."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from storage.backup import database as db_part
from storage.backup import warehouse as wh_part
from storage.backup.archive import ArchiveReader, ArchiveWriter, BackupError, Manifest
from storage.database.base import Database
from storage.warehouse.base import Warehouse

Part = Literal["database", "warehouse"]
PARTS: tuple[Part, ...] = ("database", "warehouse")


async def backup(path: Path, database: Database | None,
                 warehouse: Warehouse | None) -> Manifest:
    """Write the archive of the stores given to `path` (through a temporary file: a failed
    backup leaves no partial archive behind)."""
    partial = path.with_name(path.name + ".partial")
    writer = ArchiveWriter(partial)
    try:
        if database is not None:
            writer.manifest.parts["database"] = await db_part.dump(database, writer)
        if warehouse is not None:
            writer.manifest.parts["warehouse"] = await wh_part.dump(warehouse, writer)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    os.replace(partial, path)
    return writer.manifest


def read(path: Path) -> ArchiveReader:
    """The archive at `path`, checked whole (`BackupError` when it cannot be used)."""
    return ArchiveReader(path)


def parts_to_restore(reader: ArchiveReader, only: Part | None) -> list[Part]:
    parts = [only] if only else [p for p in PARTS if p in reader.manifest.parts]
    for part in parts:
        if part not in reader.manifest.parts:
            raise BackupError(f"the archive holds no {part}")
    if not parts:
        raise BackupError("the archive holds neither a database nor a warehouse")
    return parts


async def restore(path: Path, database: Database | None, warehouse: Warehouse | None,
                  only: Part | None = None, force: bool = False) -> dict[str, Any]:
    """Restore the parts of the archive at `path` (`only` one of them; default: all it
    holds); a store is needed for each part restored. Returns rows restored per part and table."""
    reader = read(path)
    parts = parts_to_restore(reader, only)
    if "database" in parts:
        assert database is not None
        db_part.check_schema(reader.manifest.parts["database"])
        present = await db_part.non_empty(database)
        if present and not force:
            raise BackupError(f"the target database is not empty ({present}); restore with "
                              "--force to replace its contents")
    if "warehouse" in parts:
        assert warehouse is not None
        names = set(reader.manifest.parts["warehouse"]["tables"])
        present = await wh_part.non_empty(warehouse, names)
        if present and not force:
            raise BackupError(f"the target warehouse is not empty ({present}); restore "
                              "with --force to replace these tables")
    restored: dict[str, Any] = {}
    if "database" in parts:
        assert database is not None
        restored["database"] = await db_part.load(database, reader, force)
    if "warehouse" in parts:
        assert warehouse is not None
        restored["warehouse"] = await wh_part.load(warehouse, reader, force)
    return restored
