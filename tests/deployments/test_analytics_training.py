"""Analytics training as a job (:mod:`deployments.analytics.training`), through the route:

- The fits run in processes other than the service's (a child process here; Ray tasks
  with the batch resources in the Ray test), the versions are registered and served.
- A second training job of the same user while one is queued or running: 429 with a
  message, and no job created; bad requests (seed out of range, no training data, an
  upload without the required columns, a report seed numpy cannot take): 4xx before any
  job exists.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.analytics.errors import AnalyticsError
from actors.analytics.training import fit_clv
from config.settings import Settings
from deployments.analytics.service import AnalyticsService
from deployments.ingress.roles import Role
from storage.jobs.tasks import TaskRunner
from tests.deployments.analytics_support import wait_for_job
from tests.deployments.conftest import Api, make_stores

A = "/api/v1/analytics"


class Env:
    def __init__(self, api: Api, service: AnalyticsService) -> None:
        self.api = api
        self.service = service
        self.headers = api.bearer("analyst")

    def train(self, **body: Any) -> Any:
        return self.api.client.post(f"{A}/training", headers=self.headers, json=body)

    def get(self, path: str, **kw: Any) -> Any:
        return self.api.client.get(path, headers=self.headers, **kw)

    def job_count(self) -> int:
        return int(self.api.run(self.api.ctx.stores.database.fetchval,
                                "SELECT count(*) FROM jobs"))


def open_env(make_api: Callable[..., Api], tmp_path: Path, warehouse: Any,
             tasks: TaskRunner | None = None, **overrides: Any) -> Env:
    stores = make_stores(tmp_path, warehouse)
    settings = Settings(environment="test", data_dir=tmp_path, **overrides)
    service = AnalyticsService(settings, stores, tasks=tasks)
    service.training_jobs.plan = lambda: [(fit_clv, ())]  # one real fit: the CLV model
    api = make_api(stores=stores, services={"analytics": service}, **overrides)
    api.make_user("analyst", Role.ANALYST)
    return Env(api, service)


@pytest.fixture
def env(make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any) -> Iterator[Env]:
    opened = open_env(make_api, tmp_path, chdb_warehouse)
    yield opened
    opened.api.run(opened.service.stop)


def check_trained(env: Env, started: Any) -> dict[str, Any]:
    assert started.status_code == 202, started.text
    job = wait_for_job(env.get, started.json()["job_id"], timeout_s=180)
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert result["models"] == {"clv_cdnow": 1}
    assert result["worker_pid"] == os.getpid()  # the worker loop: this process
    assert result["task_pids"] and os.getpid() not in result["task_pids"]  # the fits: not
    clv = env.get(f"{A}/customers/4/clv")
    assert clv.status_code == 200, clv.text
    assert clv.json()["model"] == {"name": "clv_cdnow", "version": 1}
    return dict(result)


def test_training_job_fits_in_another_process_and_serves_the_model(env: Env) -> None:
    assert env.get(f"{A}/customers/4/clv").status_code == 409  # nothing trained yet
    check_trained(env, env.train(quick=True, seed=3))


def test_training_limits_and_validation_come_before_the_job(env: Env) -> None:
    too_big = env.train(seed=2**32)
    assert too_big.status_code == 422, too_big.text
    assert env.job_count() == 0
    env.service.settings = env.service.settings.model_copy(
        update={"analytics_training_data": Path("/nonexistent/marketing")})
    missing = env.train(quick=True)
    assert missing.status_code == 400 and "training data not found" in missing.json()["detail"]
    assert env.job_count() == 0
    env.service.settings = env.service.settings.model_copy(
        update={"analytics_training_data": None})

    first = env.train(quick=True)
    assert first.status_code == 202, first.text
    second = env.train(quick=True)
    assert second.status_code == 429, second.text
    assert second.json()["detail"].startswith("you have 1 training job(s) queued or running "
                                              "(at most 1 per user)")
    assert second.headers["Retry-After"] == "30"
    assert env.job_count() == 1
    job = wait_for_job(env.get, first.json()["job_id"], timeout_s=180)
    assert job["status"] == "succeeded", job["error"]
    again = env.train(quick=True)  # the first one ended: room again
    assert again.status_code == 202, again.text
    assert wait_for_job(env.get, again.json()["job_id"], timeout_s=180)["status"] == \
        "succeeded"


def test_bad_import_and_report_requests_create_no_job(env: Env) -> None:
    bad_upload = env.api.client.post(
        f"{A}/imports", headers=env.headers,
        files={"file": ("tx.csv", b"who,when\n1,2011-01-01\n", "text/csv")})
    assert bad_upload.status_code == 400, bad_upload.text
    assert "missing required column" in bad_upload.json()["detail"]
    huge_seed = env.api.client.post(f"{A}/reports", headers=env.headers,
                                    json={"seed": 99999999999999999999999999})
    assert huge_seed.status_code == 422, huge_seed.text
    with pytest.raises(AnalyticsError, match="seed must be an integer"):  # past the route too
        env.api.run(env.service.request_report, "someone", "transactions",
                    {"seed": 2**40})
    assert env.job_count() == 0


@pytest.mark.ray
def test_training_job_runs_as_ray_tasks(make_api: Callable[..., Api], tmp_path: Path,
                                        chdb_warehouse: Any, ray_session: Any) -> None:
    """The deployment's runner: every fit is a Ray task on the batch pool, in a Ray worker
    process, not in the process whose worker loop runs the job."""
    from storage.jobs.ray_tasks import RayTasks

    opened = open_env(make_api, tmp_path, chdb_warehouse, tasks=RayTasks(0.5))
    try:
        result = check_trained(opened, opened.train(quick=True))
        assert all(pid > 0 for pid in result["task_pids"])
    finally:
        opened.api.run(opened.service.stop)
