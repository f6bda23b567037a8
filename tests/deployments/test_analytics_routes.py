"""The analytics routes on the real ingress app with the real `AnalyticsService` in
process (embedded stores, real data slices, models fitted on real data): imports as
jobs, bad uploads, segments, CLV, uplift, allocation, model versions."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from actors.analytics.clv.value import CLVModel
from actors.analytics.datasets import read_cdnow, read_hillstrom, read_robyn_weekly
from actors.analytics.mmm import MediaMixModel
from actors.analytics.persistence import save_model
from actors.analytics.uplift import TLearner, hillstrom_experiment
from config.settings import Settings
from deployments.analytics.service import AnalyticsService
from deployments.ingress.roles import Role
from storage.records.models import ModelRegistry
from tests.deployments.analytics_support import retail_csv, wait_for_job
from tests.deployments.conftest import Api, make_stores
from tests.support import shared_data

A = "/api/v1/analytics"
CHANNELS = ["tv_S", "search_S", "facebook_S"]


class Setup:
    def __init__(self, api: Api, service: AnalyticsService) -> None:
        self.api = api
        self.service = service
        self.analyst = api.bearer("analyst")
        self.viewer = api.bearer("viewer")

    def get(self, path: str, **kw: Any) -> Any:
        return self.api.client.get(path, headers=self.analyst, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.api.client.post(path, headers=self.analyst, **kw)

    def upload(self, data: bytes, name: str = "tx.csv", mime: str = "text/csv",
               table: str | None = None) -> Any:
        form = {"table": table} if table else {}
        return self.post(f"{A}/imports", files={"file": (name, data, mime)}, data=form)

    def register(self, name: str, path: Path) -> int:
        registry = ModelRegistry(self.api.ctx.stores.database)
        version = self.api.run(registry.register, name, path.as_uri(), {}, {}, "test")
        return int(version.version)


@pytest.fixture
def setup(make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any,
          request: pytest.FixtureRequest) -> Iterator[Setup]:
    overrides = getattr(request, "param", {})
    stores = make_stores(tmp_path, chdb_warehouse)
    settings = Settings(environment="test", data_dir=tmp_path, **overrides)
    service = AnalyticsService(settings, stores)
    api = make_api(stores=stores, services={"analytics": service}, **overrides)
    api.make_user("analyst", Role.ANALYST)
    api.make_user("viewer", Role.VIEWER)
    yield Setup(api, service)
    api.run(service.stop)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """CLV, uplift and media-mix models fitted on slices of the real data, saved."""
    root = tmp_path_factory.mktemp("analytics-models")
    tx = read_cdnow(shared_data("marketing", "rfm_clv", "CDNOW_master.txt"))
    tx = tx[tx["customer_id"].astype(int) <= 800]
    clv = CLVModel().fit(tx, "1997-09-30")
    hill = read_hillstrom(shared_data("marketing", "uplift", "hillstrom.csv")).head(6000)
    uplift = TLearner("logistic").fit(*hillstrom_experiment(hill, "Womens E-Mail", "visit"))
    media = read_robyn_weekly(shared_data("marketing", "mmm", "robyn_dt_simulated_weekly.csv"))
    mmm = MediaMixModel().fit(media, "revenue", CHANNELS, starts=1)
    return {
        "clv": save_model(clv, root, "clv", "bgnbd_gamma_gamma").path,
        "uplift": save_model(uplift, root, "uplift", "t_learner").path,
        "mmm": save_model(mmm, root, "mmm", "adstock_hill").path,
    }


def test_import_job_end_to_end_then_segments(setup: Setup) -> None:
    table = f"tx_{uuid.uuid4().hex[:8]}"
    bad_rows = (b"536999,2011-01-05,,10.00\n"  # no customer
                b"537000,not-a-date,17850,5.00\n"
                b"C537001,2011-01-06,17850,-3.50\n")  # cancellation
    response = setup.upload(retail_csv(1500) + bad_rows, table=table)
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["columns"]["customer_id"] == "CustomerID"
    job = wait_for_job(setup.get, started["job_id"])
    assert job["status"] == "succeeded", job
    report = job["result"]
    assert report["rows_read"] == 1503 and report["rows_imported"] == 1500
    assert report["rows_rejected"] == 3 and report["table"] == table
    assert {k: v["count"] for k, v in report["rejected"].items()} == {
        "missing_customer_id": 1, "unparseable_date": 1, "cancellation": 1}
    assert report["rejected"]["cancellation"]["sample_rows"] == [1503]
    # progress went out on the job's EventBus channel
    events, _ = setup.api.run(setup.api.ctx.stores.eventbus.read_after,
                              started["events_channel"], 0, 1.0)
    assert events[0]["stage"] == "parsing"
    assert events[-1]["status"] == "succeeded" and events[-1]["result"]["batch_id"]

    overview = setup.api.client.get(f"{A}/segments", params={"table": table},
                                    headers=setup.viewer)
    assert overview.status_code == 200, overview.text
    body = overview.json()
    assert body["customers"] == report["customers"]
    assert sum(s["customers"] for s in body["segments"]) == report["customers"]
    last = pd.Timestamp(report["last_timestamp"])
    assert body["as_of"] == str((last + pd.Timedelta(days=1)).date())
    assert 2 <= body["kmeans"]["k"] <= 6
    one = setup.get(f"{A}/customers/17850/segment", params={"table": table})
    assert one.status_code == 200, one.text
    assert one.json()["segment"] in {s["segment"] for s in body["segments"]}
    assert one.json()["frequency"] >= 1
    assert setup.get(f"{A}/customers/nobody/segment", params={"table": table}).status_code == 404
    missing = setup.get(f"{A}/segments", params={"table": "never_imported"})
    assert missing.status_code == 404 and "never_imported" in missing.json()["detail"]
    assert setup.get(f"{A}/segments", params={"table": "x; DROP"}).status_code == 422


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("setup", [{"max_body_bytes": 20_000}], indirect=True)
def test_bad_uploads_are_4xx(setup: Setup) -> None:
    def refused(response: Any, status: int, fragment: str) -> None:
        assert response.status_code == status, response.text
        assert fragment in str(response.json()["detail"]), response.json()

    refused(setup.upload(b"PK\x03\x04...", "tx.xlsx", "application/vnd.ms-excel"), 415,
            "CSV")
    refused(setup.upload(b"", "tx.csv"), 400, "empty")
    refused(setup.upload(b"who,when\n1,2011-01-01\n", "tx.csv"), 400,
            "missing required column")
    refused(setup.upload(b"CustomerID,InvoiceDate,TotalPrice\n", "tx.csv"), 400, "no rows")
    refused(setup.upload(b"not parquet at all", "tx.parquet", "application/octet-stream"),
            400, "parquet")
    refused(setup.upload(retail_csv(1000), "tx.csv"), 413, "larger than")
    refused(setup.upload(retail_csv(5), "tx.csv", table="bad-name"), 422, "table")
    # a valid Parquet upload is accepted (column check on the real schema)
    frame = pd.read_csv(io.BytesIO(retail_csv(50)), dtype=str)
    ok = setup.upload(_parquet(frame), "tx.parquet", "application/octet-stream",
                      table=f"pq_{uuid.uuid4().hex[:8]}")
    assert ok.status_code == 202, ok.text
    assert wait_for_job(setup.get, ok.json()["job_id"])["result"]["rows_imported"] == 50
    # a viewer may not import
    denied = setup.api.client.post(f"{A}/imports", headers=setup.viewer,
                                   files={"file": ("tx.csv", retail_csv(5), "text/csv")})
    assert denied.status_code == 403


def _customer(i: int, **over: Any) -> dict[str, Any]:
    return {"customer_id": f"h{i}", "recency": 1 + i % 12, "history": 50.0 + 40 * i,
            "mens": i % 2, "womens": (i + 1) % 2, "zip_code": "Urban", "newbie": i % 2,
            "channel": "Web", **over}


def test_clv_uplift_and_allocation_from_registered_models(
    setup: Setup, artifacts: dict[str, Path]
) -> None:
    not_yet = setup.get(f"{A}/customers/4/clv")
    assert not_yet.status_code == 409 and "training" in not_yet.json()["detail"]
    for role in ("clv", "uplift", "mmm"):
        setup.register(setup.service.models.names[role], artifacts[role])

    clv = setup.get(f"{A}/customers/4/clv", params={"horizon_weeks": 26})
    assert clv.status_code == 200, clv.text
    assert clv.json()["clv"] > 0 and 0 <= clv.json()["p_alive"] <= 1
    assert clv.json()["model"] == {"name": "clv_cdnow", "version": 1}
    assert setup.get(f"{A}/customers/999999/clv").status_code == 404
    assert setup.get(f"{A}/customers/4/clv", params={"horizon_weeks": -1}).status_code == 422

    customers = [_customer(i) for i in range(20)]
    scores = setup.post(f"{A}/uplift/scores", json={"customers": customers})
    assert scores.status_code == 200, scores.text
    assert [s["customer_id"] for s in scores.json()["scores"]] == [c["customer_id"]
                                                                   for c in customers]
    targeting = setup.post(f"{A}/uplift/targeting", json={
        "customers": customers, "budget": 5.0, "cost_per_contact": 1.0})
    assert targeting.status_code == 200, targeting.text
    targets = targeting.json()["targets"]
    assert 0 < len(targets) <= 5 and targeting.json()["spent"] <= 5.0
    uplifts = [t["uplift"] for t in targets]
    assert uplifts == sorted(uplifts, reverse=True) and min(uplifts) > 0
    bad = setup.post(f"{A}/uplift/scores", json={"customers": [_customer(1, zip_code="Mars")]})
    assert bad.status_code == 422

    total = 100_000.0
    bounds = {"tv_S": {"min": 10_000, "max": 60_000}, "search_S": {"min": 5_000, "max": 50_000},
              "facebook_S": {"min": 0, "max": 40_000}}
    alloc = setup.post(f"{A}/allocation", json={"total": total, "bounds": bounds})
    assert alloc.status_code == 200, alloc.text
    result = alloc.json()
    assert abs(sum(result["allocation"].values()) - total) < 1e-6
    for channel, spend in result["allocation"].items():
        assert bounds[channel]["min"] - 1e-9 <= spend <= bounds[channel]["max"] + 1e-9
    assert result["predicted_response"] >= result["start_response"]
    infeasible = setup.post(f"{A}/allocation", json={"total": 1_000.0, "bounds": bounds})
    assert infeasible.status_code == 422
    assert "sum of minimums" in infeasible.json()["detail"]
    unknown = setup.post(f"{A}/allocation", json={"current": {"radio": 5.0}})
    assert unknown.status_code == 422 and "radio" in unknown.json()["detail"]
    reversed_bounds = setup.post(f"{A}/allocation",
                                 json={"bounds": {"tv_S": {"min": 9, "max": 1}}})
    assert reversed_bounds.status_code == 422

    # a second CLV version becomes current; pinning (reconfigure) serves the first again
    assert setup.register("clv_cdnow", artifacts["clv"]) == 2
    setup.service.models.configure(None, None)
    assert setup.get(f"{A}/customers/4/clv").json()["model"]["version"] == 2
    setup.service.configure_models({"versions": {"clv": 1}})
    assert setup.get(f"{A}/customers/4/clv").json()["model"]["version"] == 1
    listed = setup.api.client.get(f"{A}/models", headers=setup.viewer).json()
    assert listed["clv"]["pinned"] == 1 and [v["version"] for v in listed["clv"]["versions"]] \
        == [2, 1]
