"""The `armillary` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any

from config.settings import Settings, load_settings
from storage.records.accounts import Role


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="armillary", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Ray, the stores and the Serve app; Ctrl-C stops")
    up.add_argument("--verbose", "-v", action="store_true",
                    help="show Ray's and Serve's output here (default: the log file under "
                         "the data dir, var/logs/armillary-up.log)")
    sub.add_parser("down", help="stop a running `armillary up`")
    sub.add_parser("status", help="is it up, and are the stores healthy")
    sub.add_parser("migrate", help="apply database migrations")

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    create = user.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    create.add_argument("--password", help="default: prompt (or read one line from stdin)")

    key = sub.add_parser("apikey", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    new_key = key.add_parser("create", help="create an API key (printed once)")
    new_key.add_argument("name")
    new_key.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    new_key.add_argument("--owner", default=None, help="admin user it is created by")
    from cluster import gateway_cli, jobs_cli, ocr_cli
    from cluster.kuberay import cli as kube_cli

    keys = sub.add_parser("keys", help="encryption keys of secrets at rest").add_subparsers(
        dest="action", required=True)
    keys.add_parser("new", help="print a new key (put it first in ARMILLARY_ENCRYPTION_KEYS)")
    keys.add_parser("rotate", help="re-encrypt stored secrets with the first key")
    for module in (jobs_cli, kube_cli, gateway_cli, ocr_cli):
        module.add_parser(sub)
    return parser


async def _with_auth(settings: Settings, action: str, args: argparse.Namespace) -> int:
    """User and key management straight on the Database (no server needed)."""
    from storage.records.accounts import AccountError, Accounts
    from storage.records.api_keys import ApiKeys
    from storage.registry import open_backend
    from storage.sealing import settings_sealer

    db = open_backend("database", settings.url("database"))
    await db.connect()
    try:
        await db.migrate()
        accounts = Accounts(db)
        if action == "user":
            password = args.password or _read_password()
            wanted = {"username": args.username, "role": args.role}
            try:
                user = await accounts.create(args.username, password, Role(args.role))
            except AccountError as exc:
                await _audit(db, "armillary user create", 409, {**wanted, "error": str(exc)})
                print(f"error: {exc}", file=sys.stderr)
                return 1
            await _audit(db, "armillary user create", 201, {**wanted, "user_id": user.id})
            print(json.dumps(user.public()))
        else:
            owner_name = args.owner or settings.admin_username
            wanted = {"name": args.name, "role": args.role, "owner": owner_name}
            owner = await accounts.users.by_name(owner_name)
            if owner is None or owner.role != Role.ADMIN.value:
                await _audit(db, "armillary apikey create", 403,
                             {**wanted, "error": "owner is not an admin user"})
                print(f"error: {owner_name!r} is not an admin user", file=sys.stderr)
                return 1
            record, key = await ApiKeys(db, settings_sealer(settings)).create(
                args.name, args.role, owner.id)
            await _audit(db, "armillary apikey create", 201, {**wanted, "key_id": record.id})
            print(json.dumps({**record.public(), "key": key}))
            print("store this key now; it is not shown again", file=sys.stderr)
        return 0
    finally:
        await db.close()


async def _keys(settings: Settings, action: str) -> int:
    """`armillary keys new|rotate`: a new Fernet key; re-encrypt the secret material with
    the first of ARMILLARY_ENCRYPTION_KEYS (keep the old keys after it until this ran)."""
    from storage.records.api_keys import ApiKeys
    from storage.registry import open_backend
    from storage.sealing import new_key, settings_sealer

    if action == "new":
        print(new_key())
        return 0
    db = open_backend("database", settings.url("database"))
    await db.connect()
    try:
        await db.migrate()
        async with db.transaction() as tx:
            count = await ApiKeys(tx, settings_sealer(settings)).rotate_keys()
    finally:
        await db.close()
    print(json.dumps({"rotated": {"api_keys": count}}))
    return 0


def cli_actor() -> str:
    """Who ran a command, for the audit log: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid-{os.getuid()}"


async def _audit(db: Any, command: str, status: int, detail: dict[str, Any]) -> None:
    """One audit row for a command run straight on the Database (method ``CLI``, the
    command as the path), written before its result is printed: the API's own user and
    key changes are audited the same way (deployments/ingress/middleware.py)."""
    from storage.records.audit import AuditEntry, AuditLog

    await AuditLog(db).record(AuditEntry(cli_actor(), "CLI", command, status,
                                         uuid.uuid4().hex, detail))


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


async def _migrate(settings: Settings) -> int:
    from storage.registry import open_backend

    db = open_backend("database", settings.url("database"))
    await db.connect()
    try:
        applied = await db.migrate()
    finally:
        await db.close()
    print(f"applied: {', '.join(applied) if applied else 'nothing (up to date)'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from cluster import gateway_cli, jobs_cli, local, ocr_cli
    from cluster.kuberay import cli as kube_cli

    ops = {"job": jobs_cli, "kube": kube_cli, "gateway": gateway_cli, "ocr": ocr_cli}
    if args.command in ops:
        return ops[args.command].run(args, settings)
    if args.command == "up":
        return local.up(settings, verbose=args.verbose)
    if args.command == "down":
        return local.down(settings)
    if args.command == "status":
        report = local.status(settings)
        print(json.dumps(report, indent=2))
        return 0 if report.get("ready") else 1
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "keys":
        return asyncio.run(_keys(settings, args.action))
    if args.command in ("user", "apikey"):
        if args.command == "user" and args.password == "":
            print("error: empty password", file=sys.stderr)
            return 2
        return asyncio.run(_with_auth(settings, args.command, args))
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
