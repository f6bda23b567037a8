"""The record repositories on every Database backend."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from storage.errors import ConflictError
from storage.records.api_keys import ApiKeys
from storage.records.audit import AuditEntry, AuditLog
from storage.records.jobs import Jobs, JobStatus
from storage.records.models import ModelRegistry
from storage.records.refresh_tokens import RefreshOutcome, RefreshTokens
from storage.records.users import Users


async def test_users(database: Any) -> None:
    users = Users(database)
    ann = await users.create("ann", "hash", "viewer")
    with pytest.raises(ConflictError):
        await users.create("ann", "hash", "admin")
    assert (await users.by_name("ann")) == ann
    changed = await users.update(ann.id, role="analyst", disabled=True)
    assert changed is not None and changed.role == "analyst" and changed.disabled is True
    assert await users.update("missing", role="admin") is None
    assert [u.username for u in await users.list()] == ["ann"]
    with pytest.raises(ValueError, match="can only change"):
        await users.update(ann.id, username="x")


async def test_api_keys_shown_once_and_revocable(database: Any) -> None:
    admin = await Users(database).create("root", "h", "admin")
    keys = ApiKeys(database)
    record, full = await keys.create("ci", "researcher", admin.id)
    assert full.startswith("ak_") and record.id in full
    assert (await keys.verify(full)) == record
    assert await keys.verify(full[:-2] + "xx") is None
    assert await keys.verify("garbage") is None
    assert await keys.revoke(record.id)
    assert await keys.verify(full) is None
    assert not await keys.revoke(record.id)


async def test_refresh_rotation_and_reuse_revokes_family(database: Any) -> None:
    user = await Users(database).create("bob", "h", "viewer")
    tokens = RefreshTokens(database, ttl_s=60)
    first = await tokens.issue(user.id)
    second = await tokens.rotate(first)
    assert second.outcome is RefreshOutcome.OK and second.user_id == user.id
    assert second.token is not None
    replay = await tokens.rotate(first)  # stolen first token used again
    assert replay.outcome is RefreshOutcome.REUSED
    assert (await tokens.rotate(second.token)).outcome is RefreshOutcome.REVOKED
    assert (await tokens.rotate("nonsense")).outcome is RefreshOutcome.UNKNOWN


async def test_refresh_concurrent_rotation_only_one_wins(database: Any) -> None:
    user = await Users(database).create("eve", "h", "viewer")
    tokens = RefreshTokens(database, ttl_s=60)
    token = await tokens.issue(user.id)
    results = await asyncio.gather(*(tokens.rotate(token) for _ in range(5)))
    assert sum(r.outcome is RefreshOutcome.OK for r in results) == 1


async def test_refresh_expiry_and_logout(database: Any) -> None:
    user = await Users(database).create("cy", "h", "viewer")
    expired = await RefreshTokens(database, ttl_s=0).issue(user.id)
    assert (await RefreshTokens(database, 60).rotate(expired)).outcome is RefreshOutcome.EXPIRED
    tokens = RefreshTokens(database, ttl_s=60)
    live = await tokens.issue(user.id)
    assert await tokens.revoke_family_of(live) == user.id
    assert (await tokens.rotate(live)).outcome is RefreshOutcome.REVOKED


async def test_audit_log(database: Any) -> None:
    log = AuditLog(database)
    await log.record(AuditEntry("ann", "POST", "/x", 201, "r1", {"k": 1}))
    await log.record(AuditEntry("bob", "DELETE", "/y", 403, "r2"))
    entries = await log.recent()
    assert [e["actor"] for e in entries] == ["bob", "ann"]
    assert entries[0]["outcome"] == "denied" and entries[1]["detail"] == {"k": 1}
    assert [e["actor"] for e in await log.recent(actor="ann")] == ["ann"]


async def test_jobs(database: Any) -> None:
    jobs = Jobs(database)
    job = await jobs.create("ocr-batch", "ann", {"src": "/data"})
    await jobs.progress(job.id, 5, 10)
    running = await jobs.get(job.id)
    assert running is not None and running.status is JobStatus.RUNNING and running.done == 5
    await jobs.finish(job.id, result={"pages": 10})
    done = await jobs.get(job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.result == {"pages": 10}
    assert [j.id for j in await jobs.list("ocr-batch")] == [job.id]
    assert await jobs.list("other") == []


async def test_model_registry_versions(database: Any) -> None:
    registry = ModelRegistry(database)
    v1 = await registry.register("btc", "file:///a", {"mae": 1.0}, {"end": "2020"}, "abc")
    v2 = await registry.register("btc", "file:///b", {"mae": 0.9}, {"end": "2021"}, "abd")
    assert (v1.version, v2.version) == (1, 2)
    current = await registry.current("btc")
    assert current is not None and current.version == 2 and current.metrics == {"mae": 0.9}
    promoted = await registry.promote("btc", 1)
    assert promoted is not None and promoted.artifact_uri == "file:///a"
    assert await registry.promote("btc", 9) is None
    assert [m.version for m in await registry.versions("btc")] == [2, 1]
