"""Analytics reports through the routes and the EventBus task queue, with the real
`AnalyticsService` in process: create/list/download, a weekly schedule whose task is
claimed and produces a report, and a crashed worker's task delivered again."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.analytics.ingest import import_transactions
from config.settings import Settings
from deployments.analytics.reports import REPORT_QUEUE
from deployments.analytics.service import AnalyticsService
from deployments.ingress.roles import Role
from tests.deployments.analytics_support import retail_csv, wait_for_job
from tests.deployments.conftest import Api, make_stores

A = "/api/v1/analytics"
OPTIONS = {"k_min": 2, "k_max": 3, "holdout_days": 21, "title": "Weekly <retail>"}


@pytest.fixture
def env(make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any
        ) -> Iterator[tuple[Api, AnalyticsService, str]]:
    stores = make_stores(tmp_path, chdb_warehouse)
    service = AnalyticsService(Settings(environment="test", data_dir=tmp_path), stores)
    api = make_api(stores=stores, services={"analytics": service})
    api.make_user("analyst", Role.ANALYST)
    api.make_user("viewer", Role.VIEWER)
    table = f"rep_{uuid.uuid4().hex[:8]}"
    api.run(lambda: import_transactions(chdb_warehouse, retail_csv(3000), table=table))
    yield api, service, table
    api.run(service.stop)


def test_report_create_list_download(env: tuple[Api, AnalyticsService, str]) -> None:
    api, service, table = env
    analyst, viewer = api.bearer("analyst"), api.bearer("viewer")
    created = api.client.post(f"{A}/reports", headers=analyst, json={"table": table, **OPTIONS})
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]  # run by the service's worker loop
    job = wait_for_job(lambda p: api.client.get(p, headers=analyst), job_id, 60)
    assert job["status"] == "succeeded", job["error"]
    report = job["result"]
    assert report["kpis"]["customers"] > 100 and report["source_table"] == table

    listed = api.client.get(f"{A}/reports", headers=viewer)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [report["id"]]
    html = api.client.get(report["html_url"], headers=viewer)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Weekly &lt;retail&gt;" in html.text and "data:image/png;base64," in html.text
    pdf = api.client.get(report["pdf_url"], headers=viewer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert len(pdf.content) == report["pdf_bytes"]
    assert (service.settings.data_dir / "reports" / f"{report['id']}.pdf").is_file()
    assert api.client.get(f"{A}/reports/{'0' * 32}.html", headers=viewer).status_code == 404
    assert api.client.get(f"{A}/reports/not-an-id.pdf", headers=viewer).status_code == 422

    bad = api.client.post(f"{A}/reports", headers=analyst, json={"k_min": 5, "k_max": 3})
    assert bad.status_code == 422
    assert api.client.post(f"{A}/reports", headers=viewer, json={}).status_code == 403
    # a report on a table nothing was imported into: 404 naming the imports, no job
    empty = api.client.post(f"{A}/reports", headers=analyst, json={"table": "nothing_here"})
    assert empty.status_code == 404, empty.text
    assert "nothing_here" in empty.json()["detail"]
    assert "/api/v1/analytics/imports/sample" in empty.json()["detail"]
    # no table: the caller's latest import (none here: the `transactions` table)
    default = api.client.post(f"{A}/reports", headers=analyst, json={})
    assert default.status_code == 404 and "'transactions'" in default.json()["detail"]


def test_scheduled_report_claimed_and_crashed_worker_redelivered(
    env: tuple[Api, AnalyticsService, str]
) -> None:
    api, service, table = env
    analyst = api.bearer("analyst")
    first_run = time.time() - 1
    created = api.client.post(f"{A}/schedules", headers=analyst, json={
        "name": "weekly retail", "every": "weekly", "table": table, "first_run_at": first_run,
        **OPTIONS})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["interval_s"] == 7 * 86_400

    jobs = api.run(service.tick_schedules)
    assert len(jobs) == 1
    assert api.run(service.tick_schedules) == []  # the run was taken: no second task
    [listed] = api.client.get(f"{A}/schedules", headers=analyst).json()
    assert listed["next_run_at"] == pytest.approx(first_run + 7 * 86_400)

    # a worker claims the task and dies before acking: the task stays pending, hidden
    crashed = api.run(api.ctx.stores.eventbus.claim, REPORT_QUEUE, "worker-that-crashes", 0.5)
    assert crashed is not None and crashed.attempts == 1
    assert api.run(service.work_once, "worker-2") is False
    assert api.run(api.ctx.stores.eventbus.pending, REPORT_QUEUE) == 1
    api.run(asyncio.sleep, 0.6)
    # after the lease the task is delivered again, to the live worker, which reports
    assert api.run(service.work_once, "worker-2") is True
    assert api.run(api.ctx.stores.eventbus.pending, REPORT_QUEUE) == 0
    job = wait_for_job(lambda p: api.client.get(p, headers=analyst), jobs[0], 5)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["schedule_id"] == schedule["id"]
    by_schedule = api.client.get(f"{A}/reports", headers=analyst,
                                 params={"schedule_id": schedule["id"]}).json()
    assert [r["id"] for r in by_schedule] == [job["result"]["id"]]

    deleted = api.client.delete(f"{A}/schedules/{schedule['id']}", headers=analyst)
    assert deleted.status_code == 204
    assert api.client.delete(f"{A}/schedules/{schedule['id']}", headers=analyst
                             ).status_code == 404
