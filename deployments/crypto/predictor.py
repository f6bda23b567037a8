"""Predictions of loaded models at the newest of given candles, cached per candle.

A prediction is a pure function of (model version, newest candle), so it is cached: in the
replica (a bounded dict) and in the Cache kind (``crypto:pred:<name>:v<version>:<time>``),
shared by replicas. Concurrent misses for the same key share one computation; what is left
is one model call per model for all its distinct candles, in a thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from actors.crypto.csv_import import CANDLE_COLUMNS
from actors.crypto.errors import CryptoError
from actors.crypto.stores import CryptoStores, finite_or_none
from actors.crypto.symbols import parse_interval
from deployments.crypto.config import ServingConfig
from deployments.crypto.errors import ModelLoadError, NoCandlesError
from deployments.crypto.models import LoadedModel
from deployments.crypto.stats import ServingStats
from storage.cache.base import Cache
from storage.errors import StorageError

log = logging.getLogger("armillary.crypto")
MEMO_SIZE = 4096

Job = tuple[LoadedModel, pd.DataFrame]
Answer = tuple[dict[str, Any], bool]
"""A prediction, and whether it came from a cache."""
Outcome = Answer | BaseException


class Predictor:
    def __init__(self, cache: Cache, data: CryptoStores, config: Callable[[], ServingConfig],
                 stats: ServingStats) -> None:
        self.cache = cache
        self.data = data
        self.config = config
        self.stats = stats
        self._memo: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[dict[str, Any]]] = {}

    @staticmethod
    def key(loaded: LoadedModel, as_of: pd.Timestamp) -> str:
        return f"crypto:pred:{loaded.record.name}:v{loaded.record.version}:{as_of.isoformat()}"

    def remembered(self, key: str) -> dict[str, Any] | None:
        """The prediction under ``key`` in this replica's memo, if any."""
        return self._memo.get(key)

    def _remember(self, key: str, pred: dict[str, Any]) -> None:
        self._memo[key] = pred
        self._memo.move_to_end(key)
        while len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)

    async def predict(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Prediction (and whether it came from a cache) for each ``(model, candles)`` at the
        newest candle. Distinct keys are computed once; with caching on, the replica memo,
        computations in flight for other requests and the Cache kind are used first."""
        keys = [self.key(m, frame.index[-1]) for m, frame in jobs]
        use_cache = self.config().cache_predictions
        found, todo, waiting = self._sort(keys, jobs, use_cache)
        if todo:
            found.update(await self._run(todo, use_cache))
        for key, future in waiting.items():
            try:
                found[key] = (await asyncio.shield(future), True)
            except Exception as exc:
                found[key] = exc
        return [found[key] for key in keys]

    def _sort(
        self, keys: list[str], jobs: Sequence[Job], use_cache: bool
    ) -> tuple[dict[str, Outcome], dict[str, Job], dict[str, asyncio.Future[dict[str, Any]]]]:
        """Each distinct key: found in the memo, to compute, or waiting for a computation
        in flight."""
        found: dict[str, Outcome] = {}
        todo: dict[str, Job] = {}
        waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        for key, job in zip(keys, jobs, strict=True):
            if key in found or key in todo or key in waiting:
                continue
            if use_cache:
                if key in self._memo:
                    self.stats.memo_hits += 1
                    found[key] = (self._memo[key], True)
                    continue
                if key in self._inflight:
                    self.stats.shared += 1
                    waiting[key] = self._inflight[key]
                    continue
            todo[key] = job
        return found, todo, waiting

    async def _run(self, todo: dict[str, Job], use_cache: bool) -> dict[str, Outcome]:
        """Compute ``todo``; meanwhile (with caching) other requests for its keys wait for
        this computation."""
        loop = asyncio.get_running_loop()
        futures = {key: loop.create_future() for key in todo}
        if use_cache:
            self._inflight.update(futures)
        try:
            computed = await self._resolve(todo)
        except BaseException as exc:
            failure = exc if isinstance(exc, Exception) else ModelLoadError(
                "the computation was cancelled; try again")
            computed = dict.fromkeys(todo, failure)
            if not isinstance(exc, Exception):
                _settle(futures, computed)
                raise
        finally:
            for key in futures:
                self._inflight.pop(key, None)
        _settle(futures, computed)
        if use_cache:
            for key, value in computed.items():
                if not isinstance(value, BaseException):
                    self._remember(key, value[0])
        return computed

    async def _resolve(self, todo: dict[str, Job]) -> dict[str, Outcome]:
        """The Cache kind first (when caching; best effort: a cache that is down only costs a
        computation), then one computation for the rest."""
        out: dict[str, Outcome] = {}
        rest = dict(todo)
        config = self.config()
        if config.cache_predictions:
            try:
                stored = await self.cache.get_many(list(rest))
            except StorageError as exc:
                log.warning("prediction cache unavailable: %s", exc)
                stored = [None] * len(rest)
            for key, raw in zip(list(rest), stored, strict=True):
                if raw is not None:
                    self.stats.cache_hits += 1
                    out[key] = (json.loads(raw), True)
                    del rest[key]
        if rest:
            computed = await self._compute(rest)
            for key, value in computed.items():
                out[key] = value if isinstance(value, BaseException) else (value, False)
            if config.cache_predictions:
                await self._store(computed, config.prediction_ttl_s)
        return out

    async def _store(self, computed: dict[str, dict[str, Any] | BaseException],
                     ttl: float) -> None:
        try:
            for key, value in computed.items():
                if not isinstance(value, BaseException):
                    await self.cache.set_json(key, value, ttl)
        except StorageError as exc:
            log.warning("prediction cache unavailable: %s", exc)

    async def _compute(self, todo: dict[str, Job]) -> dict[str, dict[str, Any] | BaseException]:
        """One model call per model for all its distinct candles (in a thread)."""
        by_model: dict[str, list[str]] = {}
        for key, (loaded, _) in todo.items():
            by_model.setdefault(loaded.record.id, []).append(key)
        out: dict[str, dict[str, Any] | BaseException] = {}
        for keys in by_model.values():
            predictor = todo[keys[0]][0].predictor
            inputs = []
            for key in keys:
                frame = todo[key][1]
                window = frame.iloc[-predictor.required_history :][list(CANDLE_COLUMNS)]
                sentiment = None
                if predictor.model.features.sentiment:
                    sentiment = await self._sentiment_for(predictor, window)
                inputs.append((window, sentiment))
            try:
                preds = await asyncio.to_thread(predictor.predict_batch, inputs)
            except CryptoError as exc:
                for key in keys:
                    out[key] = NoCandlesError(
                        f"cannot forecast {predictor.symbol} from the stored candles: {exc}"
                    )
                continue
            self.stats.computed += len(keys)
            for key, pred in zip(keys, preds, strict=True):
                out[key] = finite_or_none(pred.to_dict())
        return out

    async def _sentiment_for(self, predictor: Any, window: pd.DataFrame) -> pd.DataFrame:
        """The stored sentiment buckets a model with sentiment features reads for ``window``."""
        features = predictor.model.features
        freq = pd.Timedelta(features.sentiment_freq)
        step = parse_interval(self.config().interval)
        return await self.data.sentiment_series(
            predictor.symbol,
            window.index[0] - freq * (features.sentiment_window + 1),
            window.index[-1] + step + freq,
            freq=features.sentiment_freq,
        )


def _settle(futures: dict[str, asyncio.Future[dict[str, Any]]],
            results: dict[str, Outcome]) -> None:
    for key, future in futures.items():
        if future.done():
            continue
        value = results[key]
        if isinstance(value, BaseException):
            future.set_exception(value)
            future.exception()  # marked retrieved: there may be no one waiting
        else:
            future.set_result(value[0])
