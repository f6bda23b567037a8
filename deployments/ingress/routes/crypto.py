"""Crypto price prediction: latest prediction and walk-forward backtest per symbol (anyone
signed in), candle import and sentiment ingest (analysts, researchers, admins), and the
real-time prediction WebSocket ``/api/v1/ws/crypto?symbol=BTC-USDT&token=<access token>``.

Symbols are written ``BTC-USDT``, ``btcusdt`` or ``BTC_USDT`` in paths. Errors of the crypto
logic (unknown symbol, bad horizon, unreadable CSV) become 4xx with their message; the service's
own state (no model yet, model too old, no candles) a 404 or 503: the statuses are
:data:`deployments.crypto.errors.CRYPTO_ERRORS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, WebSocket
from pydantic import BaseModel, Field
from starlette.websockets import WebSocketDisconnect, WebSocketState

from deployments.crypto.client import HISTORY_MAX_LIMIT
from deployments.ingress.auth import Principal
from deployments.ingress.context import IngressContext
from deployments.ingress.deps import Context, require
from deployments.ingress.errors import ApiError
from deployments.ingress.roles import ANYONE, STAFF
from storage.eventbus.base import Subscription

router = APIRouter(tags=["crypto"])
Anyone = Annotated[Principal, Depends(require(ANYONE))]
Staff = Annotated[Principal, Depends(require(STAFF))]
PREFIX = "/api/v1/crypto"
log = logging.getLogger("armillary.crypto.ws")

# WebSocket close codes (4000-4999 are the application's): the HTTP status they stand for
WS_BAD_REQUEST, WS_UNAUTHORIZED, WS_FORBIDDEN, WS_RATE_LIMITED = 4400, 4401, 4403, 4429
WS_TRY_AGAIN_LATER = 1013


Horizon = Annotated[
    str | None,
    Query(max_length=8, description="candles ahead (default: the first served horizon)"),
]


class RecentPredictions:
    """Prediction responses kept in this ingress replica for as long as the Crypto deployment
    allows (``ServingConfig.ingress_cache_s``, 1 s by default; 0 with its prediction cache
    off): a forecast only changes with a new candle or model version, and answering repeats
    here saves the handle call, about half the route's cost. Only successes are kept, at
    most ``size`` keys."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        item = self._items.get(key)
        if item is None or item[0] <= time.monotonic():
            return None
        return item[1]

    def put(self, key: tuple[str, str], value: dict[str, Any], ttl_s: float) -> None:
        now = time.monotonic()
        if len(self._items) >= self.size:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            if len(self._items) >= self.size:
                self._items.clear()
        self._items[key] = (now + ttl_s, {**value, "cached": True})


def _recent(request: Request) -> RecentPredictions:
    cache: RecentPredictions | None = getattr(request.app.state, "crypto_recent", None)
    if cache is None:
        cache = RecentPredictions()
        request.app.state.crypto_recent = cache
    return cache


@router.get(f"{PREFIX}/{{symbol}}/prediction")
async def prediction(
    symbol: str, request: Request, ctx: Context, _: Anyone, horizon: Horizon = None
) -> dict[str, Any]:
    """The forecast made at the newest stored candle: predicted log return and close over
    ``horizon`` candles, probability of a rise, the model version, the data time (``as_of``,
    the newest candle's open time) and the model's skill statement from its walk-forward
    backtest ("no demonstrated skill" unless MASE < 1 and Diebold-Mariano p < 0.05)."""
    recent = _recent(request)
    key = (symbol.strip().upper(), (horizon or "").strip())
    hit = recent.get(key)
    if hit is not None:
        return hit
    answer, ttl = await ctx.crypto.predict(symbol, horizon)
    if ttl > 0:
        recent.put(key, answer, ttl)
    return answer


@router.get(f"{PREFIX}/{{symbol}}/backtest")
async def backtest(
    symbol: str, ctx: Context, _: Anyone, horizon: Horizon = None
) -> dict[str, Any]:
    """The walk-forward report stored when the served model was trained: folds, out-of-sample
    metrics of the model and of persistence (MAE, MASE, hit rate, Diebold-Mariano)."""
    return await ctx.crypto.backtest(symbol, horizon)


@router.get(f"{PREFIX}/{{symbol}}/history")
async def history(
    symbol: str, ctx: Context, _: Anyone, horizon: Horizon = None,
    limit: Annotated[int, Query(ge=1, le=HISTORY_MAX_LIMIT, description="newest candles")] = 200,
) -> dict[str, Any]:
    """The newest ``limit`` stored candles (oldest first) and the real-time predictions
    stored at them, for a chart's first load (the WebSocket then appends); empty lists
    when nothing is stored yet."""
    return await ctx.crypto.history(symbol, horizon, limit)


@router.post(f"{PREFIX}/candles/import")
async def import_candles(
    ctx: Context,
    _: Staff,
    file: Annotated[UploadFile, File(description="OHLCV CSV (CCXT or CryptoDataDownload)")],
    symbol: Annotated[str | None, Form(max_length=32)] = None,
    interval: Annotated[str | None, Form(max_length=8)] = None,
) -> dict[str, Any]:
    """Import candles into the TimeSeries (``candles``) and the Warehouse history; returns the
    import report: rows read and kept, and every kind of fix (banner, order, duplicates,
    timestamps, bad prints, envelopes, gaps)."""
    name = PurePath(file.filename or "upload.csv").name
    data = await file.read()
    if not data:
        raise ApiError(400, f"{name} is empty")
    return await ctx.crypto.import_candles(data, symbol, interval, name)


class SentimentItem(BaseModel):
    timestamp: datetime = Field(description="when the text became public (UTC if no zone)")
    symbol: str = Field(min_length=3, max_length=32)
    text: str = Field(min_length=1, max_length=5_000)


class SentimentBatch(BaseModel):
    items: list[SentimentItem] = Field(min_length=1, max_length=1_000)


@router.post(f"{PREFIX}/sentiment")
async def sentiment(body: SentimentBatch, ctx: Context, _: Staff) -> dict[str, Any]:
    """Score texts with VADER (plus a finance lexicon) and store the scores in the TimeSeries
    (``sentiment``); returns each score and label and the hourly aggregates, which models
    trained with sentiment features read."""
    items = [i.model_dump(mode="json") for i in body.items]
    return await ctx.crypto.add_sentiment(items)


@router.websocket("/api/v1/ws/crypto")
async def crypto_socket(websocket: WebSocket) -> None:
    """Real-time predictions of one symbol: ``{"type": "subscribed", ...}`` once, then a
    ``{"type": "prediction", ...}`` per new candle from the market feed. The access token comes
    in the ``token`` query parameter (browsers cannot set headers on WebSockets). Closes with
    4401 (no or bad token), 4403 (role not allowed), 4429 (rate limit), 4400 (bad symbol),
    1013 (service unavailable)."""
    ctx: IngressContext = websocket.app.state.ctx
    await websocket.accept()  # custom close codes only reach the client after the handshake
    principal = await _admit(websocket, ctx)
    if principal is None:
        return
    info = await _watch(websocket, ctx, websocket.query_params.get("symbol", ""))
    if info is None:
        return
    async with ctx.stores.eventbus.subscribe(info["channel"]) as subscription:
        await websocket.send_json({"type": "subscribed", **info, "user": principal.name})
        await _forward(websocket, subscription)
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close()


async def _admit(websocket: WebSocket, ctx: IngressContext) -> Principal | None:
    """The caller, if their token, role and rate limit let them subscribe; else None, the
    socket closed with the reason."""
    token = websocket.query_params.get("token")
    try:
        principal = await ctx.auth.authenticate(f"Bearer {token}" if token else None, None)
    except ApiError as exc:
        await _close(websocket, WS_UNAUTHORIZED, exc.detail)
        return None
    if principal.role not in ANYONE:
        await _close(websocket, WS_FORBIDDEN, f"role {principal.role.value!r} may not subscribe")
        return None
    decision = await ctx.stores.cache.hit(
        f"user:{principal.id}", ctx.settings.rate_limit_per_minute, 60.0
    )
    if not decision.allowed:
        await _close(websocket, WS_RATE_LIMITED, "rate limit exceeded")
        return None
    return principal


async def _watch(websocket: WebSocket, ctx: IngressContext, symbol: str) -> dict[str, Any] | None:
    """The channel of ``symbol``'s predictions; None, the socket closed, when the symbol is
    bad (4400) or the service unavailable (1013)."""
    try:
        return await ctx.crypto.watch(symbol)
    except ApiError as exc:
        if exc.status < 500:
            await _close(websocket, WS_BAD_REQUEST, exc.detail)
            return None
        problem: Exception = exc
    except Exception as exc:
        problem = exc
    log.warning("crypto service unavailable for a WebSocket: %s", problem)
    await _close(websocket, WS_TRY_AGAIN_LATER, "the crypto service is unavailable")
    return None


async def _forward(websocket: WebSocket, subscription: Subscription) -> None:
    """Send each message of ``subscription`` (a ping every 15 s without one) until the
    client disconnects."""
    receiver = asyncio.create_task(_drain(websocket))
    try:
        while not receiver.done():
            getter = asyncio.create_task(subscription.get(timeout_s=15.0))
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                with contextlib.suppress(BaseException):
                    await getter
                break
            message = getter.result()
            await websocket.send_json(message if message is not None else {"type": "ping"})
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()
        with contextlib.suppress(BaseException):
            await receiver


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    await websocket.close(code=code, reason=reason.encode()[:120].decode(errors="ignore"))
