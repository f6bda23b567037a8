"""`armillary backup PATH` / `armillary restore PATH [--only database|warehouse]
[--force]`: the argparse wiring of `storage.backup.run`, on the stores of the settings.
With embedded stores (SQLite, chDB) run them while the suite is down: a chDB folder is
held by one process."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from config.settings import Settings


def add_parser(sub: Any) -> None:
    backup = sub.add_parser("backup", help="write the Database and the Warehouse to one "
                                           "tar.gz archive")
    backup.add_argument("path", help="archive to write (e.g. armillary-2026-12-06.tar.gz)")
    restore = sub.add_parser(
        "restore", help="restore a backup archive into the configured stores",
        description="Refuses (exit 1) a corrupt or foreign archive, a schema newer than "
                    "this version's, and a target that holds data unless --force.")
    restore.add_argument("path", help="archive written by `armillary backup`")
    restore.add_argument("--only", choices=["database", "warehouse"], default=None,
                         help="restore one part only (default: both)")
    restore.add_argument("--force", action="store_true",
                         help="replace what the target holds (database: every table; "
                              "warehouse: the archive's tables)")


async def _run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from storage.backup import run
    from storage.registry import open_backend

    path = Path(args.path)
    parts = list(run.PARTS)
    if args.command == "restore":  # a bad archive is refused before any store is opened
        parts = run.parts_to_restore(run.read(path), args.only)
    database = open_backend("database", settings.url("database"))
    warehouse = open_backend("warehouse", settings.url("warehouse"))
    try:
        if "database" in parts:
            await database.connect()
        if "warehouse" in parts:
            await warehouse.connect()
        if args.command == "backup":
            manifest = await run.backup(path, database, warehouse)
            return {"archive": str(path), "tables": {
                part: {name: t.get("rows") for name, t in data["tables"].items()}
                for part, data in manifest.parts.items()},
                "schema_version": manifest.parts["database"]["schema_version"]}
        restored = await run.restore(path, database, warehouse, args.only, args.force)
        return {"archive": str(path), "restored": restored}
    finally:
        await database.close()
        await warehouse.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from storage.backup.archive import BackupError
    from storage.errors import StorageError

    try:
        report = asyncio.run(_run(args, settings))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (StorageError, OSError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0
