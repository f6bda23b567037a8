"""Real-time predictions: the replica subscribes to ``crypto.candles.<SYMBOL>`` on the EventBus
(published by the market feed, :mod:`actors.crypto_feed`); each new candle extends the
in-memory history and yields one prediction per served horizon, written to the TimeSeries
(measurement ``predictions``) and published on ``crypto.predictions.<SYMBOL>`` — once per
candle across replicas (a Cache lock decides who writes). The ingress forwards that channel
to WebSocket clients (``/api/v1/ws/crypto``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pandas as pd

from actors.crypto.feed import Candle
from actors.crypto.registry import model_name
from actors.crypto.stores import (
    CryptoStores,
    candle_channel,
    prediction_channel,
)
from actors.crypto.symbols import SUPPORTED_SYMBOLS, normalize_symbol
from deployments.crypto.background import cancel_all
from deployments.crypto.config import ServingConfig
from deployments.crypto.errors import CryptoServiceError
from deployments.crypto.history import CandleHistories
from deployments.crypto.models import LoadedModel, ModelHolder
from deployments.crypto.predictor import Predictor
from deployments.crypto.responses import respond
from deployments.crypto.stats import ServingStats
from storage.cache.base import Cache
from storage.eventbus.base import EventBus

log = logging.getLogger("armillary.crypto")


class FeedSubscriber:
    """Follows the candle channels and turns each new candle into predictions.
    ``ready``: the service's start-up (stores connected, schema made), awaited first."""

    def __init__(self, eventbus: EventBus, cache: Cache, data: CryptoStores,
                 models: ModelHolder, histories: CandleHistories, predictor: Predictor,
                 config: Callable[[], ServingConfig], stats: ServingStats,
                 ready: Callable[[], Awaitable[None]]) -> None:
        self.eventbus = eventbus
        self.cache = cache
        self.data = data
        self.models = models
        self.histories = histories
        self.predictor = predictor
        self.config = config
        self.stats = stats
        self.ready = ready
        self._listeners: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}

    def start(self) -> None:
        """Follow the candle channel of every supported symbol (when ``realtime``)."""
        if self.config().realtime:
            for symbol in SUPPORTED_SYMBOLS:
                self._listener(symbol)

    def listening(self) -> list[str]:
        return sorted(s for s, (t, _) in self._listeners.items() if not t.done())

    async def close(self) -> None:
        await cancel_all([t for t, _ in self._listeners.values()])
        self._listeners.clear()

    async def watch(self, symbol: str) -> dict[str, Any]:
        """Make sure real-time predictions for ``symbol`` are being produced; return the
        channel they are published on (the WebSocket route subscribes to it)."""
        await self.ready()
        canonical = normalize_symbol(symbol)
        ready = self._listener(canonical)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 10.0)
        config = self.config()
        return {
            "symbol": canonical,
            "interval": config.interval,
            "horizons": list(config.horizons),
            "channel": prediction_channel(canonical),
            "candles": candle_channel(canonical),
        }

    async def on_candle(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """A new candle from the feed: extend the history, predict every served horizon at it,
        and (once across replicas) store and publish the predictions."""
        await self.ready()
        config = self.config()
        symbol = normalize_symbol(message["symbol"])
        if message.get("interval") != config.interval:
            return []
        candle = Candle(
            symbol, config.interval, pd.Timestamp(message["timestamp"]),
            float(message["open"]), float(message["high"]), float(message["low"]),
            float(message["close"]), float(message["volume"]),
        )
        self.histories.append(symbol, candle, str(message.get("source", "feed")))
        out = []
        for h in config.horizons:
            response = await self._predict_at(model_name(symbol, config.interval, h), candle)
            if response is not None:
                out.append(response)
        return out

    async def _predict_at(self, name: str, candle: Candle) -> dict[str, Any] | None:
        """The prediction of model ``name`` at ``candle``, stored and published unless
        another replica did; None when there is none (logged)."""
        try:
            loaded = await self.models.get(name)
            self.models.check_age(loaded)
        except CryptoServiceError as exc:
            log.debug("no real-time %s prediction: %s", name, exc)
            return None
        candles = await self._candles_up_to(loaded, candle)
        if candles is None:
            return None
        [answer] = await self.predictor.predict([(loaded, candles)])
        if isinstance(answer, BaseException):
            log.warning("real-time %s prediction failed: %s", name, answer)
            return None
        response = respond(answer[0], loaded, None, self.config(), cached=answer[1])
        lock = self.predictor.key(loaded, candle.timestamp).replace(":pred:", ":realtime:", 1)
        if await self.cache.set_if_absent(lock, b"1", self.config().prediction_ttl_s):
            self.stats.realtime += 1
            await self.data.write_prediction(response, name)
            await self.data.publish(
                prediction_channel(candle.symbol), {"type": "prediction", **response}
            )
        return response

    async def _candles_up_to(self, loaded: LoadedModel, candle: Candle) -> pd.DataFrame | None:
        """The candles the model reads, ending at ``candle`` (from memory, else the store);
        None (logged) when fewer are stored."""
        need = loaded.predictor.required_history
        hist = self.histories.peek(candle.symbol)
        candles = hist.frame.loc[: candle.timestamp] if hist is not None else None
        if candles is None or len(candles) < need or candles.index[-1] != candle.timestamp:
            candles = await self.data.read_candles(
                candle.symbol, candle.interval, end=candle.timestamp, last=need
            )
        if len(candles) < need or candles.index[-1] != candle.timestamp:
            log.warning("cannot predict %s at %s: %d candles stored up to it",
                        loaded.record.name, candle.timestamp, len(candles))
            return None
        return candles

    def _listener(self, symbol: str) -> asyncio.Event:
        existing = self._listeners.get(symbol)
        if existing is not None and not existing[0].done():
            return existing[1]
        ready = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self._listen(symbol, ready))
        self._listeners[symbol] = (task, ready)
        return ready

    async def _listen(self, symbol: str, ready: asyncio.Event) -> None:
        channel = candle_channel(symbol)
        backoff = 1.0
        while True:
            try:
                await self.ready()
                async with self.eventbus.subscribe(channel) as subscription:
                    ready.set()
                    backoff = 1.0
                    while True:
                        message = await subscription.get(timeout_s=10.0)
                        if message is not None:
                            await self._handle(symbol, channel, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listening to %s failed; retrying in %.0f s", channel, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _handle(self, symbol: str, channel: str, message: dict[str, Any]) -> None:
        try:
            if message.get("type") == "candle":
                await self.on_candle(message)
            elif message.get("type") == "reload":
                self.histories.expire(symbol)
        except Exception:
            log.exception("handling %s message failed", channel)
