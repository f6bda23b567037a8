"""The audit log (Database kind): who did what, when, with what outcome.

A mutation's audit row must exist whenever its caller was told it succeeded. The ingress
writes the row *before* the response leaves (`DurableAudit.write`): into the database,
retried for a short while when the database is unreachable (a restart), and, if it is
still unreachable, into a durable local outbox (one fsynced file per entry under the data
directory) that `DurableAudit.drain` moves into the database once it is back. Rows carry
their own id, so a row written twice (a drain racing a retry) is stored once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from storage.database.base import Queries
from storage.errors import StoreUnavailableError

log = logging.getLogger("armillary.audit")


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    method: str
    path: str
    status: int
    request_id: str
    detail: dict[str, Any] | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: float = field(default_factory=time.time)

    @property
    def outcome(self) -> str:
        if self.status < 400:
            return "success"
        return "denied" if self.status in (401, 403, 429) else "failure"


class AuditLog:
    def __init__(self, db: Queries) -> None:
        self._db = db

    async def record(self, entry: AuditEntry) -> None:
        """Store ``entry``; storing the same entry (same id) again is a no-op."""
        await self._db.execute(
            "INSERT INTO audit_log (id, at, actor, method, path, status, outcome, request_id,"
            " detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
            entry.id, entry.at, entry.actor, entry.method, entry.path, entry.status,
            entry.outcome, entry.request_id,
            None if entry.detail is None else json.dumps(entry.detail),
        )

    async def recent(
        self, limit: int = 100, actor: str | None = None, before: float | None = None
    ) -> list[dict[str, Any]]:
        rows = await self._db.fetch(
            "SELECT * FROM audit_log WHERE (CAST($1 AS TEXT) IS NULL OR actor = $1)"
            " AND (CAST($2 AS DOUBLE PRECISION) IS NULL OR at < $2) ORDER BY at DESC LIMIT $3",
            actor, before, limit,
        )
        for row in rows:
            row["detail"] = None if row["detail"] is None else json.loads(row["detail"])
        return rows


class AuditOutbox:
    """Audit entries waiting for the database: one file per entry in ``directory``,
    written to a temporary name, fsynced, then renamed (a crash leaves a whole entry or
    none). Several processes may share the directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, entry: AuditEntry) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{entry.id}.json"
        partial = self.directory / f".{entry.id}.tmp"
        with partial.open("w") as fh:
            json.dump(asdict(entry), fh)
            fh.flush()
            os.fsync(fh.fileno())
        partial.replace(final)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def pending(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    @staticmethod
    def load(path: Path) -> AuditEntry:
        return AuditEntry(**json.loads(path.read_text()))


class DurableAudit:
    """Writes audit entries so that none is lost while the database restarts: the
    database first (retried for up to ``retry_s``), else the outbox; `drain` moves the
    outbox into the database."""

    def __init__(self, audit: AuditLog, outbox: AuditOutbox, retry_s: float = 5.0) -> None:
        self.log = audit
        self.outbox = outbox
        self.retry_s = retry_s
        self._draining = asyncio.Lock()

    async def write(self, entry: AuditEntry) -> bool:
        """Store ``entry`` durably before returning: True when it is in the database,
        False when it is in the outbox. Raises only when neither can take it."""
        deadline = time.monotonic() + self.retry_s
        delay = 0.05
        while True:
            try:
                await self.log.record(entry)
            except Exception as exc:  # whatever the database says, the row must be kept
                transient = isinstance(exc, StoreUnavailableError | OSError | TimeoutError)
                if not transient or time.monotonic() + delay > deadline:
                    log.warning("audit row %s goes to the outbox: %s", entry.id, exc)
                    await asyncio.to_thread(self.outbox.put, entry)
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
            else:
                if self.outbox.pending():
                    asyncio.get_running_loop().create_task(self.drain())
                return True

    async def drain(self) -> int:
        """Move outbox entries into the database; returns how many were moved. Stops at
        the first failure (the database is still away); entries stay for the next try."""
        moved = 0
        async with self._draining:
            for path in self.outbox.pending():
                try:
                    entry = self.outbox.load(path)
                except FileNotFoundError:  # another process moved it
                    continue
                try:
                    await self.log.record(entry)
                except Exception as exc:
                    log.info("audit outbox not drained yet: %s", exc)
                    break
                path.unlink(missing_ok=True)
                moved += 1
        return moved

    async def run_drainer(self, every_s: float = 5.0) -> None:
        """Drain forever, every ``every_s`` seconds (a task of the ingress's lifespan)."""
        while True:
            try:
                await self.drain()
            except Exception:
                log.exception("audit outbox drain failed")
            await asyncio.sleep(every_s)
