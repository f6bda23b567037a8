"""The crypto prediction service: plain Python over the platform stores, made of collaborators
with one job each:

- :class:`~deployments.crypto.models.ModelHolder`: which model version each name serves
  (pinned, else current; checked every ``refresh_s``, at once on ``reconfigure``), loaded;
- :class:`~deployments.crypto.history.CandleHistories`: the newest candles per symbol;
- :class:`~deployments.crypto.predictor.Predictor`: predictions, cached per candle (replica
  memo, the Cache kind, shared computations in flight);
- :class:`~deployments.crypto.forecasts.Forecasts`: prediction requests, answered in batches;
- :class:`~deployments.crypto.realtime.FeedSubscriber`: real-time predictions from the market
  feed's candles;
- :class:`~deployments.crypto.backtests.Backtests`: the stored walk-forward reports;
- :class:`~deployments.crypto.candle_import.CandleImport`: OHLCV CSV imports;
- :class:`~deployments.crypto.sentiment.SentimentIngest`: scored texts;
- :class:`~deployments.crypto.training.CryptoTraining`: training jobs (the job system's
  ``crypto-train`` kind, run by this service's worker loop; the training itself runs
  elsewhere: Ray tasks in the replica, a child process without Ray).

Its Serve deployment (:mod:`deployments.crypto.deployment`) adds ``@serve.batch`` and the
user_config; the ingress calls it through :class:`deployments.crypto.client.CryptoClient`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from actors.crypto.registry import TRAIN_JOB
from actors.crypto.stores import CANDLE_TABLE, CryptoStores
from config.settings import Settings
from deployments.crypto.background import Background
from deployments.crypto.backtests import Backtests
from deployments.crypto.candle_import import CandleImport
from deployments.crypto.config import ServingConfig
from deployments.crypto.forecasts import Forecasts, Request, Result
from deployments.crypto.formats import iso
from deployments.crypto.history import CandleHistories
from deployments.crypto.models import ModelHolder
from deployments.crypto.predictor import Predictor
from deployments.crypto.realtime import FeedSubscriber
from deployments.crypto.sentiment import SentimentIngest
from deployments.crypto.stats import ServingStats
from deployments.crypto.stored import StoredHistory
from deployments.crypto.training import CryptoTraining, training_payload
from storage.jobs import JobSystem
from storage.jobs.tasks import ProcessTasks, TaskRunner
from storage.records.models import ModelRegistry
from storage.stores import Stores

log = logging.getLogger("armillary.crypto")
JOB_POLL_S = 5.0
"""How often an idle crypto replica looks for a queued training job."""


class CryptoService:
    """Predictions, backtests, candle import and sentiment ingest on the platform stores.

    The Serve deployment subclasses it, tests use it directly (the ingress reaches it through
    a ``LocalTransport``). ``owns_stores``: connect (and migrate) the stores here — false when
    they are shared with an ingress app that does so.
    """

    def __init__(
        self,
        settings: Settings,
        stores: Stores,
        *,
        table: str = CANDLE_TABLE,
        owns_stores: bool = False,
        clock: Callable[[], float] = time.time,
        tasks: TaskRunner | None = None,
    ) -> None:
        self.settings = settings
        self.stores = stores
        self.data = CryptoStores(stores.timeseries, stores.warehouse, stores.eventbus, table=table)
        self.registry = ModelRegistry(stores.database, settings.model_keep_versions)
        self.config = ServingConfig.from_settings(settings)
        self.clock = clock
        self.stats = ServingStats()
        self._owns_stores = owns_stores
        self._started = False
        self._start_lock = asyncio.Lock()
        self._pid = os.getpid()
        self._created = time.time()
        self.tasks = tasks or ProcessTasks()
        self._wire()

    def _wire(self) -> None:
        """The collaborators; they read the current config and clock through these."""
        def config() -> ServingConfig:
            return self.config

        def now() -> float:
            return self.clock()

        self.background = Background()
        self.training = CryptoTraining(lambda: self.settings, self.data, self.registry,
                                       self.tasks)
        self.job_system = JobSystem(
            self.stores.database, self.stores.eventbus, [self.training.kind()],
            consumer=f"crypto-{self._pid}-{uuid.uuid4().hex[:8]}", poll_s=lambda: JOB_POLL_S,
            reap_s=lambda: self.settings.job_reap_s,
            user_limit=lambda: self.settings.job_user_max_active)
        self.models = ModelHolder(self.registry, self.job_system.jobs, config, now,
                                  self.stats, self.background)
        self.histories = CandleHistories(self.data, config, now, self.background)
        self.predictor = Predictor(self.stores.cache, self.data, config, self.stats)
        self.forecasts = Forecasts(self.models, self.histories, self.predictor, config,
                                   self.stats)
        self.feed = FeedSubscriber(self.stores.eventbus, self.stores.cache, self.data,
                                   self.models, self.histories, self.predictor, config,
                                   self.stats, self._ensure_started)
        self.backtests = Backtests(self.models, config)
        self.candles = CandleImport(self.data, self.histories)
        self.stored = StoredHistory(self.data, config)
        self.sentiment = SentimentIngest(self.data)

    # ------------------------------------------------------------ life cycle
    async def _ensure_started(self) -> None:
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            if self._owns_stores:
                await self.stores.connect()
                await self.stores.database.migrate()
            await self.data.ensure_schema()
            self._started = True

    async def reconfigure(self, config: dict[str, Any] | None) -> None:
        """Apply a user_config (Serve calls this on start and on every config change): new
        serving values, and an immediate registry check of every loaded model."""
        self.config = ServingConfig.from_settings(self.settings).merged(config)
        await self._ensure_started()
        await self.models.refresh_all()
        log.info("crypto serving config: %s", json.dumps(self.config.to_dict()))

    def start_listeners(self) -> None:
        """Follow the candle channel of every supported symbol (real-time predictions)."""
        self.feed.start()

    def start_jobs(self) -> bool:
        """Start the job worker loop (training jobs) on the running event loop
        (idempotent); returns whether it runs (never again after `close`)."""
        return self.job_system.worker.start()

    async def train(self, owner: str, symbol: str, horizon: object | None = None, *,
                    source: dict[str, Any] | None = None, wait_for_history: bool = False,
                    config: dict[str, Any] | None = None, limited: bool = True
                    ) -> dict[str, Any]:
        """Queue a training job for the model of ``symbol`` and ``horizon`` (checked now:
        served symbols and horizons only) on the newest stored candles; ``config``: fields
        of the quick model to change; ``limited``: within the job limits (the suite's own
        bootstrap is not)."""
        canonical, h, name = self.config.request(symbol, horizon)
        source = source or {"kind": "store"}
        payload = training_payload(canonical, self.config.interval, h, source,
                                   wait_for_history=wait_for_history, config=config)
        job = await self.job_system.submit(TRAIN_JOB, owner, {"model": name, "source": source},
                                           payload, limited=limited)
        return {"job_id": job.id, "status": job.status.value, "model": name}

    async def close(self) -> None:
        await self.job_system.worker.stop()
        await self.tasks.close()
        await self.feed.close()
        await self.background.close()
        if self._owns_stores:
            await self.stores.close()

    async def reset_stats(self) -> dict[str, Any]:
        """Zero the counters (benchmarks); returns the ones replaced."""
        return self.stats.reset()

    async def status(self) -> dict[str, Any]:
        return {
            "pid": self._pid,
            "started_at": iso(self._created),
            "config": self.config.to_dict(),
            "models": {
                name: {**m.info(), "loaded_at": iso(m.loaded_at)}
                for name, m in self.models.loaded().items()
            },
            "histories": self.histories.describe(),
            "listening": self.feed.listening(),
            "stats": asdict(self.stats),
        }

    # ------------------------------------------------------------ requests
    async def predict(self, symbol: str, horizon: object | None = None) -> dict[str, Any]:
        """The prediction for the newest stored candle of ``symbol`` (``horizon`` candles
        ahead; default the first served horizon)."""
        await self._ensure_started()
        self.stats.requests += 1
        canonical, _, name = self.config.request(symbol, horizon)
        hit = self.forecasts.remembered(canonical, name)
        if hit is not None:
            return hit
        result = await self._submit((symbol, horizon))
        if isinstance(result, BaseException):
            raise result
        return result

    async def _submit(self, request: Request) -> Result:
        """One request through the (batching) compute path; the Serve deployment overrides
        this with a ``@serve.batch`` method."""
        return (await self.predict_many([request]))[0]

    async def predict_many(self, requests: Sequence[Request]) -> list[Result]:
        """Answer a batch: per request a response dict or the exception to raise."""
        await self._ensure_started()
        return await self.forecasts.answer(requests)

    async def on_candle(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """A new candle from the feed (see :mod:`deployments.crypto.realtime`)."""
        return await self.feed.on_candle(message)

    async def watch(self, symbol: str) -> dict[str, Any]:
        """Make sure real-time predictions for ``symbol`` are being produced; return the
        channel they are published on (the WebSocket route subscribes to it)."""
        return await self.feed.watch(symbol)

    async def backtest(self, symbol: str, horizon: object | None = None) -> dict[str, Any]:
        """The walk-forward report stored with the served model (without the per-candle
        forecasts)."""
        await self._ensure_started()
        return await self.backtests.report(symbol, horizon)

    async def history(self, symbol: str, horizon: object | None = None,
                      limit: int = 200) -> dict[str, Any]:
        """The newest ``limit`` stored candles of ``symbol`` and the real-time predictions
        stored at them (see :class:`~deployments.crypto.stored.StoredHistory`)."""
        await self._ensure_started()
        return await self.stored.read(symbol, horizon, limit)

    async def import_candles(
        self,
        data: bytes,
        symbol: str | None = None,
        interval: str | None = None,
        filename: str | None = None,
    ) -> dict[str, Any]:
        """Import an OHLCV CSV into the TimeSeries and the Warehouse; returns the import
        report (what was fixed) and how many rows each store took."""
        await self._ensure_started()
        return await self.candles.run(data, symbol, interval, filename)

    async def add_sentiment(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Score ``{"timestamp", "symbol", "text"}`` items with VADER and store the scores."""
        await self._ensure_started()
        return await self.sentiment.add(items)
