"""A first look without data of one's own: ``POST /api/v1/analytics/imports/sample`` imports
the real Online Retail invoices when the shared data is there and SYNTHETIC transactions
when it is not, says which, and the segment overview then answers from that dataset."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.analytics.sample import REAL_SAMPLE_TABLE, SYNTHETIC_SAMPLE_TABLE, sample_file
from config.settings import Settings
from deployments.analytics.service import AnalyticsService
from deployments.ingress.roles import Role
from tests.deployments.analytics_support import wait_for_job
from tests.deployments.conftest import Api, make_stores
from tests.support import shared_data

A = "/api/v1/analytics"


@pytest.fixture
def make_env(make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any
             ) -> Iterator[Callable[[Path], Api]]:
    services: list[AnalyticsService] = []
    apis: list[Api] = []

    def make(marketing: Path) -> Api:
        stores = make_stores(tmp_path, chdb_warehouse)
        settings = Settings(environment="test", data_dir=tmp_path,
                            analytics_training_data=marketing)
        service = AnalyticsService(settings, stores)
        api = make_api(stores=stores, services={"analytics": service})
        api.make_user("analyst", Role.ANALYST)
        api.make_user("viewer", Role.VIEWER)
        services.append(service)
        apis.append(api)
        return api

    yield make
    for api, service in zip(apis, services, strict=True):
        api.run(service.stop)


def import_sample(api: Api, **body: Any) -> dict[str, Any]:
    analyst = api.bearer("analyst")
    started = api.client.post(f"{A}/imports/sample", headers=analyst, json=body or None)
    assert started.status_code == 202, started.text
    job = wait_for_job(lambda path: api.client.get(path, headers=analyst),
                       started.json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    return {**started.json(), "job": job}


def test_without_shared_data_the_sample_is_synthetic_and_says_so(
        make_env: Callable[[Path], Api], tmp_path: Path) -> None:
    api = make_env(tmp_path / "no-shared" / "marketing")
    started = import_sample(api)
    assert started["synthetic"] is True and "SYNTHETIC" in started["source"]
    assert started["dataset_id"] == SYNTHETIC_SAMPLE_TABLE
    assert started["job"]["result"]["rows_rejected"] == 0
    # the overview now answers from the sample (the caller's latest import)
    seg = api.client.get(f"{A}/segments", headers=api.bearer("analyst"))
    assert seg.status_code == 200, seg.text
    assert seg.json()["dataset_id"] == SYNTHETIC_SAMPLE_TABLE
    assert seg.json()["customers"] == 1500
    assert sum(row["customers"] for row in seg.json()["segments"]) == 1500
    # the same file every time: seeded
    assert sample_file(None).data == sample_file(tmp_path / "missing").data


def test_with_shared_data_the_sample_is_the_real_online_retail_file(
        make_env: Callable[[Path], Api]) -> None:
    marketing = shared_data("marketing")
    api = make_env(marketing)
    started = import_sample(api)
    assert started["synthetic"] is False and "Online Retail" in started["source"]
    assert started["dataset_id"] == REAL_SAMPLE_TABLE
    result = started["job"]["result"]
    assert result["rows_imported"] > 10_000, result
    seg = api.client.get(f"{A}/segments", headers=api.bearer("analyst"),
                         params={"dataset_id": REAL_SAMPLE_TABLE})
    assert seg.status_code == 200, seg.text
    assert seg.json()["customers"] > 1000


def test_sample_import_needs_an_analyst_and_a_valid_table(
        make_env: Callable[[Path], Api], tmp_path: Path) -> None:
    api = make_env(tmp_path / "none")
    viewer = api.client.post(f"{A}/imports/sample", headers=api.bearer("viewer"))
    assert viewer.status_code == 403
    bad = api.client.post(f"{A}/imports/sample", headers=api.bearer("analyst"),
                          json={"table": "1; DROP TABLE users"})
    assert bad.status_code == 422
    reserved = api.client.post(f"{A}/imports/sample", headers=api.bearer("analyst"),
                               json={"table": "reference"})
    assert reserved.status_code == 400 and "reference" in reserved.json()["detail"]
    named = import_sample(api, table="try_me")
    assert named["dataset_id"] == "try_me" and named["synthetic"] is True
