"""`armillary models list|pin|unpin|prune`: the model registry's versions and their
retention (`model_keep_versions`), straight on the Database."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from typing import Any

from config.settings import Settings


def add_parser(sub: Any) -> None:
    models = sub.add_parser("models", help="model registry versions and retention"
                            ).add_subparsers(dest="action", required=True)
    listing = models.add_parser("list", help="versions of every model (or of NAME)")
    listing.add_argument("name", nargs="?", default=None)
    for action, text in (("pin", "keep VERSION of NAME whatever retention says"),
                         ("unpin", "let retention delete VERSION of NAME again")):
        parser = models.add_parser(action, help=text)
        parser.add_argument("name")
        parser.add_argument("version", type=int)
    prune = models.add_parser("prune", help="delete all but the newest versions (plus the "
                                            "current and pinned ones) now")
    prune.add_argument("name", nargs="?", default=None, help="default: every model")
    prune.add_argument("--keep", type=int, default=None,
                       help="versions kept per name (default: model_keep_versions)")


async def _run(args: argparse.Namespace, settings: Settings) -> tuple[int, Any]:
    from storage.records.models import ModelRegistry
    from storage.registry import open_backend

    db = open_backend("database", settings.url("database"))
    await db.connect()
    try:
        await db.migrate()
        registry = ModelRegistry(db)
        if args.action == "list":
            names = [args.name] if args.name else await registry.names()
            return 0, {name: [{k: v for k, v in asdict(m).items()
                               if k in ("version", "is_current", "pinned", "created_at",
                                        "artifact_uri")}
                              for m in await registry.versions(name)] for name in names}
        if args.action in ("pin", "unpin"):
            record = await registry.pin(args.name, args.version, args.action == "pin")
            if record is None:
                return 1, f"model {args.name!r} has no version {args.version}"
            return 0, {"name": record.name, "version": record.version,
                       "pinned": record.pinned}
        keep = args.keep if args.keep is not None else settings.model_keep_versions
        if keep < 1:
            return 2, "--keep must be >= 1"
        names = [args.name] if args.name else await registry.names()
        return 0, {"deleted": {name: [m.version for m in await registry.prune(name, keep)]
                               for name in names}, "keep": keep}
    finally:
        await db.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    code, out = asyncio.run(_run(args, settings))
    if code:
        print(f"error: {out}", file=sys.stderr)
    else:
        print(json.dumps(out, indent=2))
    return code
