"""Models are the user's: a user imports their transactions, trains on that dataset, and
the CLV lookup answers from the model fitted on *their* data, not from the reference
(CDNOW) model, even for a customer id that exists in both. Without the reference data
(``analytics_training_data`` pointed at a missing folder, as without ``../shared``) the
import, the training and the lookup still work, and every 409 left names the action.

The transactions: the first invoices of UCI Online Retail (real data) when ../shared is
present; otherwise a **synthetic** file of the same shape (InvoiceNo, InvoiceDate,
CustomerID, TotalPrice) drawn from a seeded purchase process. The reference model: BG/NBD
fitted on CDNOW customers 17,000..18,500 (real) when present, else on another synthetic
population with the same customer ids."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from actors.analytics.clv.value import CLVModel
from actors.analytics.datasets import read_cdnow
from actors.analytics.ingest import parse_transactions
from actors.analytics.persistence import save_model
from actors.analytics.sample import synthetic_transactions as sample_transactions
from config.settings import Settings
from deployments.analytics.service import AnalyticsService
from deployments.ingress.roles import Role
from storage.records.models import ModelRegistry
from tests.deployments.analytics_support import wait_for_job
from tests.deployments.conftest import Api, make_stores
from tests.support import shared_dir

A = "/api/v1/analytics"
CUSTOMER = "17850"  # a customer id in both Online Retail and CDNOW
RETAIL = shared_dir() / "data" / "marketing" / "rfm_clv" / "online_retail_invoices.csv"
CDNOW = shared_dir() / "data" / "marketing" / "rfm_clv" / "CDNOW_master.txt"


def synthetic_transactions(seed: int, customers: int = 400, weeks: int = 30,
                           start: str = "2011-01-03") -> pd.DataFrame:
    """The sample module's SYNTHETIC invoices, with CUSTOMER as the first customer."""
    frame = sample_transactions(seed, customers, weeks, start, first_id=19999)
    frame.loc[frame["CustomerID"] == "19999", "CustomerID"] = CUSTOMER
    return frame


def user_csv() -> tuple[bytes, str]:
    if RETAIL.exists():
        with RETAIL.open("rb") as handle:
            return b"".join(handle.readline() for _ in range(6001)), "real"
    return synthetic_transactions(1).to_csv(index=False).encode(), "synthetic"


def reference_clv() -> CLVModel:
    if CDNOW.exists():
        tx = read_cdnow(CDNOW)
        ids = tx["customer_id"].astype(int)
        return CLVModel().fit(tx[(ids >= 17000) & (ids <= 18500)], "1997-09-30")
    frame = synthetic_transactions(2, start="1997-01-01")
    clean, _ = parse_transactions(frame.to_csv(index=False).encode())
    return CLVModel().fit(clean, clean["timestamp"].max())


class Env:
    def __init__(self, api: Api, service: AnalyticsService) -> None:
        self.api = api
        self.service = service
        self.analyst = api.bearer("analyst")
        self.other = api.bearer("other")

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.api.client.get(path, headers=headers or self.analyst, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.api.client.post(path, headers=self.analyst, **kw)


@pytest.fixture
def env(make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any) -> Iterator[Env]:
    stores = make_stores(tmp_path, chdb_warehouse)
    # no reference data: as on a machine without ../shared
    settings = Settings(environment="test", data_dir=tmp_path,
                        analytics_training_data=tmp_path / "no-shared" / "marketing")
    service = AnalyticsService(settings, stores)
    api = make_api(stores=stores, services={"analytics": service})
    api.make_user("analyst", Role.ANALYST)
    api.make_user("other", Role.ANALYST)
    yield Env(api, service)
    api.run(service.stop)


def test_clv_answers_from_the_users_model_trained_on_their_import(env: Env,
                                                                 tmp_path: Path) -> None:
    data, kind = user_csv()
    reference = reference_clv()
    path = save_model(reference, tmp_path / "ref", "clv", "bgnbd_gamma_gamma").path
    registry = ModelRegistry(env.api.ctx.stores.database)
    env.api.run(registry.register, "clv_cdnow", path.as_uri(), {}, {}, "test")

    # before any import: the reference set answers
    before = env.get(f"{A}/customers/{CUSTOMER}/clv")
    assert before.status_code == 200, before.text
    assert before.json()["model"]["name"] == "clv_cdnow"
    assert before.json()["dataset_id"] == "reference"

    # reference training without the reference data: 400 naming what to do instead
    no_ref = env.post(f"{A}/training", json={"dataset_id": "reference", "quick": True})
    assert no_ref.status_code == 400, no_ref.text
    assert "import your transactions" in no_ref.json()["detail"]

    started = env.post(f"{A}/imports", files={"file": ("mine.csv", data, "text/csv")},
                       data={"table": "my_shop"})
    assert started.status_code == 202, started.text
    assert started.json()["dataset_id"] == "my_shop"
    imported = wait_for_job(env.get, started.json()["job_id"])
    assert imported["status"] == "succeeded", imported["error"]
    assert imported["result"]["dataset_id"] == "my_shop"

    # imported, not yet trained: 409 that names the action (not "run analytics training")
    untrained = env.get(f"{A}/customers/{CUSTOMER}/clv")
    assert untrained.status_code == 409, untrained.text
    assert "my_shop" in untrained.json()["detail"]
    assert "train on this dataset" in untrained.json()["detail"]

    # train on it (default dataset: the latest import), with progress
    train = env.post(f"{A}/training", json={"quick": True})
    assert train.status_code == 202, train.text
    assert train.json()["dataset_id"] == "my_shop"
    job = wait_for_job(env.get, train.json()["job_id"], timeout_s=300)
    assert job["status"] == "succeeded", job["error"]
    assert job["total"] == 4 and job["done"] >= 3  # 3 fits, then registering
    assert job["result"]["models"]["clv@my_shop"] == 1

    mine = env.get(f"{A}/customers/{CUSTOMER}/clv", params={"horizon_weeks": 26})
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["dataset_id"] == "my_shop"
    assert body["model"] == {"name": "clv@my_shop", "version": 1}
    if kind == "real":  # this Online Retail slice drives BG/NBD's dropout to a bound
        assert body["counting_model"] == "nbd" and body["p_alive"] is None
        assert any("dropout collapsed" in w for w in body["warnings"])
        assert job["result"]["warnings"]["clv@my_shop"] == body["warnings"]
    else:  # the synthetic purchases have a dropout process: a usable BG/NBD fit
        assert body["counting_model"] == "bgnbd" and body["warnings"] == []
        assert 0 < body["p_alive"] <= 1

    # the answer is the model fitted on the user's rows, not the reference model's
    clean, _ = parse_transactions(data)
    expected = CLVModel().fit(clean, clean["timestamp"].max()).predict([CUSTOMER], 26.0)
    ref = reference.predict([CUSTOMER], 26.0)
    assert body["frequency"] == pytest.approx(expected.loc[CUSTOMER, "frequency"])
    assert body["clv"] == pytest.approx(expected.loc[CUSTOMER, "clv"], rel=1e-6)
    assert body["frequency"] != ref.loc[CUSTOMER, "frequency"] or \
        body["clv"] != pytest.approx(ref.loc[CUSTOMER, "clv"], rel=1e-3), kind

    # the reference model is still there when asked for; another user still gets it
    asked = env.get(f"{A}/customers/{CUSTOMER}/clv", params={"dataset_id": "reference"})
    assert asked.status_code == 200 and asked.json()["model"]["name"] == "clv_cdnow"
    other = env.get(f"{A}/customers/{CUSTOMER}/clv", headers=env.other)
    assert other.status_code == 200 and other.json()["model"]["name"] == "clv_cdnow"
    # segments default to the user's latest import
    seg = env.get(f"{A}/segments")
    assert seg.status_code == 200 and seg.json()["dataset_id"] == "my_shop"

    # roles a transactions import cannot train: 409 that says which dataset to use
    uplift = env.post(f"{A}/uplift/scores", params={"dataset_id": "my_shop"},
                      json={"customers": [{"customer_id": "a", "recency": 1, "history": 1.0,
                                           "mens": 1, "womens": 0, "zip_code": "Urban",
                                           "newbie": 0, "channel": "Web"}]})
    assert uplift.status_code == 409, uplift.text
    assert "reference" in uplift.json()["detail"]
    no_ref_uplift = env.post(f"{A}/allocation", json={})
    assert no_ref_uplift.status_code == 409
    assert "POST /api/v1/analytics/training" in no_ref_uplift.json()["detail"]
    # training on a dataset nothing was imported into: 404 naming the import
    never = env.post(f"{A}/training", json={"dataset_id": "never_imported"})
    assert never.status_code == 404 and "import" in never.json()["detail"]
    reserved = env.post(f"{A}/imports", files={"file": ("r.csv", data[:2000], "text/csv")},
                        data={"table": "reference"})
    assert reserved.status_code == 400


def test_synthetic_generator_is_real_shaped() -> None:
    """The fallback file parses like an Online Retail export (so the test above means
    the same thing without ../shared)."""
    frame = synthetic_transactions(1)
    clean, report = parse_transactions(io.BytesIO(frame.to_csv(index=False).encode())
                                       .getvalue())
    assert report.rows_rejected == 0 and report.customers > 100
    assert CUSTOMER in set(clean["customer_id"])
    assert (clean.groupby("customer_id").size() > 1).sum() > 20
