"""Training a crypto model: the job kind ``crypto-train`` (:mod:`storage.jobs`).

`CryptoService.train` (the ``armillary up`` bootstrap calls it through the deployment's
handle) checks the symbol and horizon, then submits a job. A delivery reads the newest
stored candles (waiting, when asked, until a history import has finished: the candle count
stops growing), trains the quick model of :mod:`actors.crypto.training` through the
service's `TaskRunner` — in the Serve replica, a Ray task with a batch slot
(`storage.jobs.ray_tasks.RayTasks`): the replica only awaits it — and registers the
artifact, which the replica then serves (its registry check). While the job is queued or
running, predictions of that model answer "being trained" (`ModelHolder.missing`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from actors.crypto.errors import CryptoError
from actors.crypto.features import FeatureConfig
from actors.crypto.registry import TRAIN_JOB, model_name, new_artifact_dir, register_artifact
from actors.crypto.stores import CryptoStores
from actors.crypto.synthetic import SYNTHETIC
from actors.crypto.training import QuickTrainConfig, train_saved
from config.settings import Settings
from storage.jobs import JobFailed, JobKind, JobRun, KindPolicy
from storage.jobs.tasks import TaskRunner
from storage.records.models import ModelRegistry

TRAIN_QUEUE = "crypto.training"
TRAIN_ROWS = 3000
TRAIN_LEASE_S = 60.0
HISTORY_POLL_S = 3.0
HISTORY_WAIT_S = 900.0


def training_payload(symbol: str, interval: str, horizon: int, source: dict[str, Any],
                     rows: int = TRAIN_ROWS, wait_for_history: bool = False,
                     config: dict[str, Any] | None = None) -> dict[str, Any]:
    """A training job's payload; ``config`` changes fields of the quick model of
    ``horizon`` (`QuickTrainConfig`: smaller models for tests and tools); unknown or bad
    fields are a `CryptoError` now (422), not a failed job later."""
    quick = QuickTrainConfig.checked({**(config or {}), "horizon": horizon})
    return {"symbol": symbol, "interval": interval, "rows": rows, "source": source,
            "config": asdict(quick), "wait_for_history": wait_for_history}


class CryptoTraining:
    """The handler of ``crypto-train`` jobs: ``tasks`` runs the training elsewhere."""

    def __init__(self, settings: Callable[[], Settings], data: CryptoStores,
                 registry: ModelRegistry, tasks: TaskRunner) -> None:
        self.settings = settings
        self.data = data
        self.registry = registry
        self.tasks = tasks

    def kind(self) -> JobKind:
        def policy() -> KindPolicy:
            s = self.settings()
            return KindPolicy(lease_s=TRAIN_LEASE_S, max_attempts=2,
                              max_active=s.job_training_max_active,
                              max_active_per_user=s.job_training_user_max_active)

        return JobKind(TRAIN_JOB, TRAIN_QUEUE, self.run, policy, label="crypto training",
                       final=lambda exc: str(exc) if isinstance(exc, CryptoError) else None)

    async def run(self, run: JobRun) -> dict[str, Any]:
        p = run.payload
        symbol, interval = str(p["symbol"]), str(p["interval"])
        config = dict(p["config"])
        name = model_name(symbol, interval, int(config["horizon"]))
        candles = await self._candles(run, symbol, interval, int(p["rows"]),
                                      bool(p.get("wait_for_history")),
                                      real=p["source"].get("kind") == "shared")
        sentiment = await self._sentiment(symbol, candles) if config.get("sentiment") else None
        await run.step("training", 0, 1)
        source = {**p["source"], "rows": len(candles)}
        if sentiment is not None:
            source["sentiment_buckets"] = len(sentiment)
        out = new_artifact_dir(self.settings().data_dir, name)
        trained = await self.tasks.run(train_saved, candles, symbol, interval, str(out),
                                       config, source, sentiment)
        await run.step("registering", 1, 1)
        record = await register_artifact(
            self.registry, Path(trained["artifact_dir"]),
            code_version=str(trained["metadata"].get("code_version", "unknown")),
            source=source, backtest=trained["backtest"],
            extra_metrics={"train_seconds": trained["train_seconds"]})
        return {"model": name, "version": record.version, "task_pid": trained["pid"]}

    async def _sentiment(self, symbol: str, candles: pd.DataFrame) -> pd.DataFrame:
        """The stored, dated sentiment buckets around ``candles`` (a model with sentiment
        features). Each candle is joined only to buckets that had ended by its close
        (:func:`actors.crypto.features.align_sentiment`), so reading past the last candle
        leaks nothing. None stored over the candles: the job fails with the reason."""
        freq = FeatureConfig().sentiment_freq
        window = pd.Timedelta(freq) * (FeatureConfig().sentiment_window + 1)
        series = await self.data.sentiment_series(
            symbol, candles.index[0] - window, candles.index[-1] + pd.Timedelta("1D"), freq=freq)
        if series.empty:
            raise JobFailed(
                f"this model uses sentiment features, but no dated sentiment of {symbol} is "
                "stored over its candles: POST scored texts with their times to "
                "/api/v1/crypto/sentiment first (the shared sentiment sets have no timestamps)")
        return series

    async def _candles(self, run: JobRun, symbol: str, interval: str, rows: int,
                       wait: bool, *, real: bool = False) -> pd.DataFrame:
        """The newest ``rows`` stored candles; with ``wait``, once a history import has
        finished (a count that stopped growing), at most `HISTORY_WAIT_S`. With ``real``
        (the job is for the shared, real data) a history still holding SYNTHETIC candles is
        one whose replacement has not happened yet (`cluster.crypto.store_history`)."""
        deadline = time.monotonic() + (HISTORY_WAIT_S if wait else 0.0)
        seen = -1
        while True:
            stored = await self.data.candle_range(symbol, interval)
            count = stored["count"] if stored else 0
            if real and wait and count and \
                    SYNTHETIC in await self.data.candle_sources(symbol, interval):
                count = 0
            if count and (not wait or count == seen):
                return await self.data.read_candles(symbol, interval, last=rows)
            if time.monotonic() >= deadline:
                raise JobFailed(f"no {interval} candles of {symbol} are stored: import a "
                                "history first")
            if seen < 0:
                await run.step("waiting for the candle history", 0, 1)
            seen = count
            await asyncio.sleep(HISTORY_POLL_S)
