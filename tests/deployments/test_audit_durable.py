"""A mutation's audit row is stored before its response leaves (issue 13): when the
database cannot take the row, it waits in the durable outbox and reaches the database
once the database can take it again; nothing a caller was told succeeded goes unaudited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deployments.ingress.roles import Role
from storage.records.audit import AuditEntry, AuditLog, AuditOutbox, DurableAudit
from tests.deployments.conftest import Api


def _audited(api: Api, request_id: str) -> list[dict[str, object]]:
    rows = api.run(api.ctx.audit.recent, 1000)
    return [row for row in rows if row["request_id"] == request_id]


def test_audit_row_survives_a_database_that_refuses_it(make_api: Callable[..., Api]) -> None:
    api = make_api(audit_retry_s=0.2)
    api.make_user("root", Role.ADMIN)
    admin = api.bearer("root")
    db = api.ctx.stores.database
    api.run(db.execute, "ALTER TABLE audit_log RENAME TO audit_log_away")
    try:
        created = api.client.post("/api/v1/users", headers=admin,
                                  json={"username": "dave", "password": "long enough pw"})
        assert created.status_code == 201, created.text
        assert len(api.ctx.audit_writer.outbox.pending()) == 1
    finally:
        api.run(db.execute, "ALTER TABLE audit_log_away RENAME TO audit_log")
    assert api.run(api.ctx.audit_writer.drain) == 1
    rows = _audited(api, created.headers["x-request-id"])
    assert [(r["actor"], r["method"], r["path"], r["status"], r["outcome"]) for r in rows] == [
        ("user:root", "POST", "/api/v1/users", 201, "success")]
    assert api.ctx.audit_writer.outbox.pending() == []


def test_outbox_entries_are_stored_once(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_api()
    audit = api.ctx.audit
    outbox = AuditOutbox(tmp_path / "outbox")
    entry = AuditEntry("user:x", "DELETE", "/api/v1/users/1", 204, "req-12345678")
    outbox.put(entry)
    writer = DurableAudit(AuditLog(api.ctx.stores.database), outbox)
    assert api.run(writer.write, entry) is True  # the same entry, directly (starts a drain)
    api.run(writer.drain)  # and from the outbox: still one row
    assert outbox.pending() == []
    rows = [r for r in api.run(audit.recent, 100) if r["request_id"] == "req-12345678"]
    assert len(rows) == 1 and rows[0]["at"] == entry.at
