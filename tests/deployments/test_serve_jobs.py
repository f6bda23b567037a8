"""The job system in the real Serve application (shared ``serve_url``): a crypto training job
asked of the Crypto deployment through its handle (as ``armillary up`` does) runs in the
replica's worker loop, and its training runs as a Ray task in another process than the
replica's; the model it registers is served. (ETH/USDT: the other Serve tests use BTC/USDT.)
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import httpx
import pytest

from tests.crypto.models import candles_csv, tiny_config, tiny_models

pytestmark = [pytest.mark.ray, pytest.mark.serve]


def _crypto() -> Any:
    from ray import serve

    from cluster.local import APP_NAME

    return serve.get_deployment_handle("Crypto", app_name=APP_NAME)


def test_crypto_training_job_runs_as_a_ray_task_off_the_replica(serve_url: str) -> None:
    with httpx.Client(base_url=serve_url, timeout=120) as http:
        login = http.post("/api/v1/auth/token",
                          data={"username": "admin", "password": "admin-dev-password"})
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        imported = http.post("/api/v1/crypto/candles/import", files={
            "file": ("eth.csv", candles_csv(tiny_models().history, "ETH/USDT"), "text/csv")})
        assert imported.status_code == 200, imported.text

        crypto = _crypto()
        replica_pid = int(crypto.status.remote().result(timeout_s=60)["pid"])
        started = crypto.train.remote("system", "ETH/USDT", 1, source={"kind": "test"},
                                      config=asdict(tiny_config(0)), limited=False
                                      ).result(timeout_s=60)
        deadline = time.monotonic() + 300
        while (job := http.get(f"/api/v1/jobs/{started['job_id']}").json())["status"] in (
                "queued", "running"):
            assert time.monotonic() < deadline, f"training job still {job['status']}"
            time.sleep(0.5)
        assert job["status"] == "succeeded", job["error"]
        assert job["result"]["model"] == "crypto-eth-usdt-1h-h1"
        assert job["result"]["task_pid"] != replica_pid  # a Ray task, not the replica

        predicted = http.get("/api/v1/crypto/ETH-USDT/prediction")
        assert predicted.status_code == 200, predicted.text
        assert predicted.json()["model"]["version"] == job["result"]["version"]
