"""The crypto deployment in the real Serve application (shared ``serve_url``): candles imported
over HTTP, a prediction from the registered model, a new version served by the same replica
(registry polling, no restart), the stale-model refusal set through the user_config, and a
WebSocket client receiving the prediction for a candle replayed by the market feed actor."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.crypto.models import candles_csv, register, tiny_models

pytestmark = [pytest.mark.ray, pytest.mark.serve]


def _register(artifact: Path) -> int:
    from config.settings import load_settings
    from storage.records.models import ModelRegistry
    from storage.registry import open_backend

    async def go() -> int:
        db = open_backend("database", load_settings().url("database"))
        await db.connect()
        try:
            return (await register(ModelRegistry(db), artifact)).version
        finally:
            await db.close()

    return asyncio.run(go())


@pytest.fixture
def redeploy(serve_url: str) -> Iterator[Callable[[dict[str, Any]], None]]:
    """``redeploy(crypto_config)``: serve.run the same app with another Crypto user_config
    (a reconfigure, not a restart); the defaults are restored afterwards."""
    from ray import serve

    from cluster.local import APP_NAME
    from deployments.app import AppArgs, build_app

    def apply(crypto_config: dict[str, Any]) -> None:
        args = AppArgs(ingress_max_replicas=1, crypto_config=crypto_config)
        serve.run(build_app(args), name=APP_NAME, route_prefix="/")

    yield apply
    apply({})


def _replica_pid() -> int:
    from ray import serve

    from cluster.local import APP_NAME

    handle = serve.get_deployment_handle("Crypto", app_name=APP_NAME)
    return int(handle.status.remote().result(timeout_s=60)["pid"])


def _until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_crypto_deployment_end_to_end(
    serve_url: str, redeploy: Callable[[dict[str, Any]], None], tmp_path: Path
) -> None:
    import ray

    from cluster.crypto_feed import FeedConfig, feed_actor

    models = tiny_models()
    with httpx.Client(base_url=serve_url, timeout=120) as http:
        login = http.post("/api/v1/auth/token",
                          data={"username": "admin", "password": "admin-dev-password"})
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        imported = http.post("/api/v1/crypto/candles/import", headers=auth,
                             files={"file": ("btc.csv", candles_csv(models.history), "text/csv")})
        assert imported.status_code == 200, imported.text
        assert imported.json()["stored"]["warehouse"] == len(models.history)

        none_yet = http.get("/api/v1/crypto/BTC-USDT/prediction", headers=auth)
        assert none_yet.status_code == 404 and "no model" in none_yet.json()["detail"]
        assert _register(models.v1) == 1
        first = http.get("/api/v1/crypto/BTC-USDT/prediction", headers=auth)
        assert first.status_code == 200, first.text
        assert first.json()["model"]["version"] == 1
        assert first.json()["data_time"] == models.history.index[-1].isoformat()
        assert http.get("/api/v1/crypto/BTC-USDT/prediction?horizon=x",
                        headers=auth).status_code == 422
        assert http.get("/api/v1/crypto/XYZ-USDT/prediction", headers=auth).status_code == 404
        backtest = http.get("/api/v1/crypto/BTC-USDT/backtest", headers=auth)
        assert backtest.status_code == 200 and backtest.json()["report"]["folds"]

        # a new version, picked up by the same replica (no restart): registry polling
        pid = _replica_pid()
        assert _register(models.v2) == 2

        def version() -> int:
            return int(http.get("/api/v1/crypto/BTC-USDT/prediction",
                                headers=auth).json()["model"]["version"])

        _until(lambda: version() == 2, 60, "version 2 to be served")
        assert _replica_pid() == pid
        # the user_config reaches the replica (serve.run redeploys it: an imperative deploy
        # always gets a new code version; `serve deploy` of a changed user_config does not)
        redeploy({"max_model_age_s": 0.001})
        stale = http.get("/api/v1/crypto/BTC-USDT/prediction", headers=auth)
        assert stale.status_code == 503 and "refusing to predict" in stale.json()["detail"]

    # real time: a replayed candle reaches a WebSocket client as a prediction
    market = tmp_path / "market.csv"
    market.write_bytes(candles_csv(models.candles))
    ws_base = serve_url.replace("http://", "ws://") + "/api/v1/ws/crypto"
    with connect(f"{ws_base}?symbol=BTC-USDT&token=garbage", open_timeout=60) as bad:
        with pytest.raises(ConnectionClosed) as closed:
            bad.recv(timeout=60)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    redeploy({})
    feed = feed_actor(FeedConfig(path=str(market), after_stored=True, limit=1, speed=math.inf))
    try:
        with connect(f"{ws_base}?symbol=BTC-USDT&token={token}", open_timeout=60) as ws:
            hello = json.loads(ws.recv(timeout=60))
            assert hello["type"] == "subscribed" and hello["symbol"] == "BTC/USDT"
            status = ray.get(feed.run.remote(), timeout=120)
            assert status["candles"] == 1 and status["state"] == "finished"
            message = json.loads(ws.recv(timeout=60))
            while message["type"] == "ping":
                message = json.loads(ws.recv(timeout=60))
    finally:
        ray.kill(feed)
    assert message["type"] == "prediction"
    assert message["as_of"] == models.future.index[0].isoformat()
    assert message["model"]["version"] == 2
