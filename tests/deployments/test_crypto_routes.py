"""The crypto routes and WebSocket on the real ingress app, with the crypto service core
in-process (``make_api(services={"crypto": CryptoService(...)})``) on embedded stores."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from actors.crypto_feed import FeedConfig, MarketFeed
from config.settings import Settings
from deployments.crypto.service import CryptoService
from deployments.ingress.roles import Role
from tests.crypto.models import SYMBOL, candles_csv, register, tiny_models
from tests.deployments.conftest import Api, make_stores

C = "/api/v1/crypto"


@pytest.fixture
def crypto_api(
    make_api: Callable[..., Api], tmp_path: Path, chdb_warehouse: Any
) -> Iterator[tuple[Api, CryptoService]]:
    suffix = uuid.uuid4().hex[:10]
    stores = make_stores(tmp_path, chdb_warehouse)
    settings = Settings(environment="test", data_dir=tmp_path, crypto_refresh_s=0.0,
                        crypto_ingress_cache_s=0.3)
    core = CryptoService(settings, stores, table=f"crypto_candles_{suffix}")
    api = make_api(stores=stores, services={"crypto": core})
    for role in Role:
        api.make_user(role.value, role)
    yield api, core
    api.run(core.close)


def _ready(api: Api, core: CryptoService) -> None:
    """History stored and model v1 registered."""
    api.run(core.data.write_candles, tiny_models().history, SYMBOL, "1h", "test")
    api.run(register, core.registry, tiny_models().v1)


def test_import_route_reports_what_it_fixed(crypto_api: tuple[Api, CryptoService]) -> None:
    api, core = crypto_api
    frame = tiny_models().history.iloc[:200]
    rows = candles_csv(frame).decode().splitlines()
    header, body = rows[0], rows[1:]
    messy = "\n".join([header, *reversed(body), body[10]]) + "\n"  # descending + a duplicate
    response = api.client.post(
        f"{C}/candles/import", headers=api.bearer("analyst"),
        files={"file": ("btc.csv", messy.encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["symbol"] == SYMBOL and result["interval"] == "1h"
    assert result["stored"] == {"timeseries": 200, "warehouse": 200}
    assert result["fixed"]["duplicates_removed"] == 1 and result["fixed"]["rows_reordered"] > 0
    assert result["report"]["rows_read"] == 201 and result["report"]["rows_out"] == 200
    stored = api.run(core.data.read_candles, SYMBOL, "1h")
    assert list(stored.index) == list(frame.index)

    researcher = api.bearer("researcher")
    bad = api.client.post(f"{C}/candles/import", headers=researcher,
                          files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert bad.status_code == 422 and "missing column" in bad.json()["detail"]
    empty = api.client.post(f"{C}/candles/import", headers=researcher,
                            files={"file": ("x.csv", b"", "text/csv")})
    assert empty.status_code == 400
    other = api.client.post(f"{C}/candles/import", headers=researcher, data={"symbol": "ETH/USDT"},
                            files={"file": ("x.csv", candles_csv(frame), "text/csv")})
    assert other.status_code == 422 and "not ETH/USDT" in other.json()["detail"]
    nameless = api.client.post(f"{C}/candles/import", headers=researcher,
                               files={"file": ("x.csv", candles_csv(frame, None), "text/csv")})
    assert nameless.status_code == 422 and "symbol" in nameless.json()["detail"]
    viewer = api.client.post(f"{C}/candles/import", headers=api.bearer("viewer"),
                             files={"file": ("x.csv", messy.encode(), "text/csv")})
    assert viewer.status_code == 403


def test_prediction_and_backtest_routes(crypto_api: tuple[Api, CryptoService]) -> None:
    api, core = crypto_api
    viewer = api.bearer("viewer")
    missing = api.client.get(f"{C}/BTC-USDT/prediction", headers=viewer)
    assert missing.status_code == 404 and "no model registered" in missing.json()["detail"]
    _ready(api, core)

    response = api.client.get(f"{C}/btcusdt/prediction", headers=viewer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["symbol"] == SYMBOL and body["horizon"] == 1
    assert body["model"]["version"] == 1 and body["model"]["name"] == "crypto-btc-usdt-1h-h1"
    assert body["data_time"] == tiny_models().history.index[-1].isoformat()
    assert body["skill"] == "no demonstrated skill" or body["skill"].startswith(
        ("skill vs", "significantly worse", "no demonstrated skill: MASE"))
    assert body["skill_verdict"] in ("skill", "worse", "none")
    assert math.isfinite(body["predicted_close"]) and 0 <= body["prob_up"] <= 1
    # one direction answer (the direction head), the return head's sign beside it
    assert body["direction"] == ("up" if body["prob_up"] > 0.5 else "down")
    ret = body["predicted_return"]
    assert body["return_direction"] == ("up" if ret > 0 else "down" if ret < 0 else "flat")
    assert body["heads_agree"] == (body["direction"] == body["return_direction"])
    assert body["direction_note"]

    for path, status, words in [
        (f"{C}/DOGE-USDT/prediction", 404, "unknown symbol"),
        (f"{C}/not-a-symbol-at-all/prediction", 404, "symbol"),
        (f"{C}/BTC-USDT/prediction?horizon=abc", 422, "integer"),
        (f"{C}/BTC-USDT/prediction?horizon=0", 422, "between 1"),
        (f"{C}/BTC-USDT/prediction?horizon=2", 422, "not served"),
        (f"{C}/ETH-USDT/prediction", 404, "no model registered"),
        (f"{C}/DOGE-USDT/backtest", 404, "unknown symbol"),
    ]:
        bad = api.client.get(path, headers=viewer)
        assert bad.status_code == status, (path, bad.text)
        assert words in bad.json()["detail"], (path, bad.text)

    report = api.client.get(f"{C}/BTC-USDT/backtest", headers=viewer)
    assert report.status_code == 200, report.text
    backtest = report.json()
    assert backtest["model"]["version"] == 1 and backtest["skill"] == body["skill"]
    assert backtest["skill_verdict"] == body["skill_verdict"]
    assert backtest["report"]["folds"] and backtest["report"]["metrics"]["persistence"]["mase"] == 1

    api.run(core.reconfigure, {"max_model_age_s": 0.001})
    time.sleep(0.35)  # what the ingress kept (for 0.3 s) has expired
    stale = api.client.get(f"{C}/BTC-USDT/prediction", headers=viewer)
    assert stale.status_code == 503
    detail = stale.json()["detail"]
    assert "refusing to predict" in detail and "registered" in detail


def test_repeated_predictions_are_answered_by_the_ingress(
    crypto_api: tuple[Api, CryptoService],
) -> None:
    api, core = crypto_api
    _ready(api, core)
    viewer = api.bearer("viewer")
    first = api.client.get(f"{C}/BTC-USDT/prediction", headers=viewer).json()
    assert "_ingress_ttl_s" not in first
    calls = core.stats.requests
    again = api.client.get(f"{C}/BTC-USDT/prediction", headers=viewer).json()
    assert core.stats.requests == calls  # no call to the service
    assert again == {**first, "cached": True}
    time.sleep(0.35)
    api.client.get(f"{C}/BTC-USDT/prediction", headers=viewer)
    assert core.stats.requests == calls + 1
    # with the deployment's prediction cache off, the ingress keeps nothing either
    api.run(core.reconfigure, {"cache_predictions": False})
    time.sleep(0.35)
    for _ in range(2):
        api.client.get(f"{C}/BTC-USDT/prediction", headers=viewer)
    assert core.stats.requests == calls + 3


def test_sentiment_route(crypto_api: tuple[Api, CryptoService]) -> None:
    api, _ = crypto_api
    items = [
        {"timestamp": "2024-05-01T12:00:00Z", "symbol": "BTC/USDT", "text": "Bitcoin soars"},
        {"timestamp": "2024-05-01T12:30:00Z", "symbol": "ETH-USDT", "text": "Ether slumps"},
    ]
    response = api.client.post(f"{C}/sentiment", headers=api.bearer("analyst"),
                               json={"items": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stored"] == 2
    assert [i["label"] for i in body["items"]] == ["bullish", "bearish"]
    assert set(body["hourly"]) == {"BTC/USDT", "ETH/USDT"}
    for bad in ({"items": []}, {"items": [{**items[0], "timestamp": "yesterday"}]},
                {"items": [{**items[0], "symbol": "???"}]}):
        rejected = api.client.post(f"{C}/sentiment", headers=api.bearer("analyst"), json=bad)
        assert rejected.status_code == 422, rejected.text


def _closed_with(api: Api, url: str) -> int:
    with pytest.raises(WebSocketDisconnect) as closed, api.client.websocket_connect(url) as ws:
        ws.receive_json()
    return closed.value.code


def test_websocket_refuses_bad_tokens_and_symbols(crypto_api: tuple[Api, CryptoService]) -> None:
    api, _ = crypto_api
    token = api.login("viewer")["access_token"]
    ws = "/api/v1/ws/crypto"
    assert _closed_with(api, f"{ws}?symbol=BTC-USDT") == 4401
    assert _closed_with(api, f"{ws}?symbol=BTC-USDT&token=not-a-jwt") == 4401
    assert _closed_with(api, f"{ws}?symbol=DOGE-USDT&token={token}") == 4400
    refresh = api.login("viewer")["refresh_token"]
    api.client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"},
                    json={"refresh_token": refresh})
    assert _closed_with(api, f"{ws}?symbol=BTC-USDT&token={token}") == 4401  # revoked


def _replay_feed(core: CryptoService, tmp_path: Path, candles: int) -> MarketFeed:
    """A market feed replaying the next `candles` candles after the stored ones at once."""
    market = tmp_path / "market.csv"
    market.write_bytes(candles_csv(tiny_models().candles))
    return MarketFeed(
        FeedConfig(path=str(market), after_stored=True, limit=candles, speed=math.inf,
                   table=core.data.table),
        core.stores.timeseries, core.stores.warehouse, core.stores.eventbus,
    )


def test_websocket_receives_a_prediction_after_a_replayed_candle(
    crypto_api: tuple[Api, CryptoService], tmp_path: Path
) -> None:
    api, core = crypto_api
    _ready(api, core)
    feed = _replay_feed(core, tmp_path, 1)
    token = api.login("viewer")["access_token"]
    with api.client.websocket_connect(f"/api/v1/ws/crypto?symbol=btc-usdt&token={token}") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "subscribed" and hello["symbol"] == SYMBOL
        assert hello["channel"] == "crypto.predictions.BTC-USDT" and hello["user"] == "viewer"
        status = api.run(feed.run)
        assert status.candles == 1
        message = ws.receive_json()
        while message["type"] == "ping":
            message = ws.receive_json()
    assert message["type"] == "prediction"
    assert message["as_of"] == tiny_models().future.index[0].isoformat()
    assert message["model"]["version"] == 1 and message["symbol"] == SYMBOL


def test_history_route_returns_stored_candles_and_predictions(
    crypto_api: tuple[Api, CryptoService], tmp_path: Path
) -> None:
    api, core = crypto_api
    viewer = api.bearer("viewer")
    empty = api.client.get(f"{C}/BTC-USDT/history", headers=viewer)
    assert empty.status_code == 200, empty.text
    assert empty.json()["candles"] == [] and empty.json()["predictions"] == []

    _ready(api, core)
    feed = _replay_feed(core, tmp_path, 2)
    token = api.login("viewer")["access_token"]
    with api.client.websocket_connect(f"/api/v1/ws/crypto?symbol=btc-usdt&token={token}") as ws:
        assert ws.receive_json()["type"] == "subscribed"
        assert api.run(feed.run).candles == 2
        seen = 0
        while seen < 2:
            seen += ws.receive_json()["type"] == "prediction"

    response = api.client.get(f"{C}/btc-usdt/history?limit=50", headers=viewer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["symbol"] == SYMBOL and body["interval"] == "1h" and body["horizon"] == 1
    times = [c["time"] for c in body["candles"]]
    assert len(times) == 50 and times == sorted(times)
    assert times[-1] == tiny_models().future.index[1].isoformat()  # the replayed candles too
    assert [p["as_of"] for p in body["predictions"]] == times[-2:]
    for p in body["predictions"]:
        assert 0 <= p["prob_up"] <= 1 and math.isfinite(p["predicted_close"])
        assert p["direction"] == ("up" if p["predicted_return"] > 0 else "down")

    for query, status in [("limit=0", 422), ("limit=1001", 422), ("limit=abc", 422),
                          ("horizon=2", 422)]:
        bad = api.client.get(f"{C}/BTC-USDT/history?{query}", headers=viewer)
        assert bad.status_code == status, (query, bad.text)
    assert api.client.get(f"{C}/DOGE-USDT/history", headers=viewer).status_code == 404
    assert api.client.get(f"{C}/BTC-USDT/history").status_code == 401
