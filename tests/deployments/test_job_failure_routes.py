"""Failed jobs through the API: the OCR batch list and the job status carry a reason for a
person and the recorded error as its detail."""

from __future__ import annotations

from deployments.ingress.roles import Role
from storage.records.ocr import BATCH_JOB
from tests.deployments.conftest import Api


def test_failed_batch_job_is_explained(api: Api) -> None:
    owner = api.make_user("batcher", Role.ADMIN)
    job = api.run(api.ctx.jobs.create, BATCH_JOB, owner, {"out": "/tmp/x"})
    api.run(api.ctx.jobs.finish, job.id, None, "SystemExit: 15")
    ok = api.run(api.ctx.jobs.create, BATCH_JOB, owner, {"out": "/tmp/y"})
    api.run(api.ctx.jobs.finish, ok.id, {"pages_total": 1}, None)

    listed = api.client.get("/api/v1/ocr/batches", headers=api.bearer("batcher"))
    assert listed.status_code == 200, listed.text
    rows = {j["id"]: j for j in listed.json()}
    failed = rows[job.id]
    assert failed["status"] == "failed" and failed["detail"] == "SystemExit: 15"
    assert failed["reason"].startswith("The worker was stopped (signal 15, SIGTERM)")
    assert "armillary ocr batch" in failed["reason"]
    assert "reason" not in rows[ok.id]

    status = api.client.get(f"/api/v1/jobs/{job.id}", headers=api.bearer("batcher"))
    assert status.status_code == 200
    assert status.json()["reason"] == failed["reason"]
