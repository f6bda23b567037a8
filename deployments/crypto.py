"""The crypto prediction service: a plain-Python core (:class:`CryptoService`) and its Serve
deployment (:data:`CryptoDeployment`), which adds ``@serve.batch`` and ``reconfigure``.

Serving "the current version". Each model name (``crypto-btc-usdt-1h-h1``) is resolved in the
model registry: the version pinned in the user_config (``pins``), else the current one. The
registry is checked again at most every ``refresh_s`` seconds, from the request path (one check
per request batch, run in the background while the loaded model keeps answering), and at once on
``reconfigure`` — so registering a new version, or changing a pin with ``serve.run``/``serve
deploy``, switches models without restarting the replica. A model registered more than
``max_model_age_s`` ago is refused with a 503 that says so (``ARMILLARY_CRYPTO_MAX_MODEL_AGE_S``).

Predictions are a pure function of (model version, newest candle), so they are cached per candle:
in the replica (a bounded dict) and in the Cache kind (``crypto:pred:<name>:v<version>:<time>``),
shared by replicas. Concurrent misses for the same key share one computation. Requests that miss
go through ``@serve.batch``: one model call per distinct (model, candle) in the batch.

Real time: the replica subscribes to ``crypto.candles.<SYMBOL>`` on the EventBus (published by
the market feed, :mod:`actors.crypto_feed`); each new candle extends the in-memory history and
yields one prediction per served horizon, written to the TimeSeries (measurement
``predictions``) and published on ``crypto.predictions.<SYMBOL>`` — once per candle across
replicas (a Cache lock decides who writes). The ingress forwards that channel to WebSocket
clients (``/api/v1/ws/crypto``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from ray import serve
from ray.serve import Deployment

from actors.crypto.csv_import import CANDLE_COLUMNS, import_ohlcv
from actors.crypto.errors import (
    ArtifactError,
    CryptoError,
    CsvFormatError,
    InvalidHorizonError,
)
from actors.crypto.feed import Candle
from actors.crypto.registry import (
    NO_SKILL,
    model_name,
    read_backtest,
    skill_of,
)
from actors.crypto.stores import (
    CANDLE_TABLE,
    CryptoStores,
    candle_channel,
    finite_or_none,
    prediction_channel,
)
from actors.crypto.symbols import (
    SUPPORTED_SYMBOLS,
    format_interval,
    normalize_symbol,
    parse_interval,
    validate_horizon,
)
from actors.crypto.synthetic import SYNTHETIC
from config.settings import Settings, load_settings
from storage.errors import StorageError
from storage.records.jobs import Jobs, JobStatus
from storage.records.models import ModelRegistry, ModelVersion
from storage.stores import Stores, open_stores

log = logging.getLogger("armillary.crypto")

TRAIN_JOB = "crypto-train"
HISTORY_ROWS = 256
"""Newest candles kept in memory per symbol (at least every loaded model's history)."""
MEMO_SIZE = 4096
LABELS = {0: "bearish", 1: "bullish", 2: "neutral"}  # actors.crypto.sentiment's label codes
INGRESS_TTL = "_ingress_ttl_s"
"""Key of a prediction response that only the ingress reads (and removes)."""


# ------------------------------------------------------------------ errors
class CryptoServiceError(Exception):
    """The service cannot answer now; ``status`` is the HTTP status the ingress should use."""

    status = 503
    retry_after_s: int | None = None


class NoModelError(CryptoServiceError):
    status = 404


class ModelTrainingError(CryptoServiceError):
    status = 503
    retry_after_s = 30


class StaleModelError(CryptoServiceError):
    status = 503


class ModelLoadError(CryptoServiceError):
    status = 503
    retry_after_s = 10


class NoCandlesError(CryptoServiceError):
    status = 404


# ------------------------------------------------------------------ config
@dataclass(frozen=True)
class ServingConfig:
    """What the deployment's ``user_config`` may set (defaults from the settings)."""

    interval: str = "1h"
    horizons: tuple[int, ...] = (1,)
    refresh_s: float = 5.0
    max_model_age_s: float = 30 * 86_400.0
    batching: bool = True
    max_batch_size: int = 32
    batch_wait_timeout_s: float = 0.002
    cache_predictions: bool = True
    prediction_ttl_s: float = 7 * 86_400.0
    realtime: bool = True
    ingress_cache_s: float = 1.0
    """How long the ingress may answer a repeated request with a response (0: never)."""
    pins: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServingConfig:
        return cls(
            interval=settings.crypto_interval,
            horizons=tuple(settings.crypto_horizons),
            refresh_s=settings.crypto_refresh_s,
            max_model_age_s=settings.crypto_max_model_age_s,
            batching=settings.crypto_batching,
            max_batch_size=settings.crypto_max_batch_size,
            batch_wait_timeout_s=settings.crypto_batch_wait_s,
            cache_predictions=settings.crypto_cache_predictions,
            prediction_ttl_s=settings.crypto_prediction_ttl_s,
            ingress_cache_s=settings.crypto_ingress_cache_s,
        )

    def merged(self, overrides: dict[str, Any] | None) -> ServingConfig:
        """A copy with ``overrides`` applied; unknown keys and bad values raise ValueError."""
        overrides = dict(overrides or {})
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown crypto user_config keys {unknown}; known: {sorted(known)}")
        if "horizons" in overrides:
            overrides["horizons"] = tuple(validate_horizon(h) for h in overrides["horizons"])
        if "pins" in overrides:
            overrides["pins"] = {str(k): int(v) for k, v in (overrides["pins"] or {}).items()}
        config = replace(self, **overrides)
        config = replace(config, interval=format_interval(parse_interval(config.interval)))
        if not config.horizons:
            raise ValueError("horizons must name at least one horizon")
        if config.max_batch_size < 1 or config.refresh_s < 0 or config.max_model_age_s <= 0 \
                or config.ingress_cache_s < 0:
            raise ValueError("max_batch_size >= 1, refresh_s >= 0, ingress_cache_s >= 0 and "
                             "max_model_age_s > 0")
        return config

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["horizons"] = list(self.horizons)
        return out


def user_config(settings: Settings, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The deployment's user_config: the settings' serving values plus ``overrides``."""
    return ServingConfig.from_settings(settings).merged(overrides).to_dict()


# ------------------------------------------------------------------ state
@dataclass(frozen=True)
class LoadedModel:
    record: ModelVersion
    predictor: Any  # actors.crypto.predictor.CryptoPredictor (TensorFlow: imported on load)
    skill: str
    loaded_at: float

    @property
    def synthetic(self) -> bool:
        return bool(self.record.data_range.get("synthetic"))

    def info(self) -> dict[str, Any]:
        r = self.record
        return {
            "name": r.name,
            "version": r.version,
            "registered_at": _iso(r.created_at),
            "data_range": {k: r.data_range.get(k) for k in ("start", "end", "synthetic")},
            "data_source": r.data_range.get("source"),
            "code_version": r.code_version,
            "architecture": r.metrics.get("architecture"),
        }


@dataclass
class History:
    frame: pd.DataFrame  # newest candles, oldest first (OHLCV + gap_before + source)
    next_check: float

    @property
    def last(self) -> pd.Timestamp | None:
        return self.frame.index[-1] if len(self.frame) else None

    @property
    def synthetic(self) -> bool:
        return bool(len(self.frame)) and self.frame["source"].iloc[-1] == SYNTHETIC


@dataclass
class _Stats:
    requests: int = 0
    memo_hits: int = 0
    cache_hits: int = 0
    shared: int = 0
    computed: int = 0
    batches: int = 0
    largest_batch: int = 0
    realtime: int = 0
    model_loads: int = 0
    registry_checks: int = 0


Request = tuple[str, Any]
Result = dict[str, Any] | BaseException


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} seconds"


# ------------------------------------------------------------------ core
class CryptoService:
    """Predictions, backtests, candle import and sentiment ingest on the platform stores.

    Plain Python: the Serve deployment subclasses it, tests use it directly (the ingress reaches
    it through a ``LocalClient``). ``owns_stores``: connect (and migrate) the stores here —
    false when they are shared with an ingress app that does so.
    """

    def __init__(
        self,
        settings: Settings,
        stores: Stores,
        *,
        table: str = CANDLE_TABLE,
        owns_stores: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.stores = stores
        self.data = CryptoStores(stores.timeseries, stores.warehouse, stores.eventbus, table=table)
        self.registry = ModelRegistry(stores.database)
        self.config = ServingConfig.from_settings(settings)
        self.clock = clock
        self.stats = _Stats()
        self._owns_stores = owns_stores
        self._started = False
        self._start_lock = asyncio.Lock()
        self._models: dict[str, LoadedModel] = {}
        self._next_check: dict[str, float] = {}
        self._model_locks: dict[str, asyncio.Lock] = {}
        self._histories: dict[str, History] = {}
        self._history_locks: dict[str, asyncio.Lock] = {}
        self._memo: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._background: dict[str, asyncio.Task[Any]] = {}
        self._listeners: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._scorer: Any = None
        self._pid = os.getpid()
        self._created = time.time()

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
        self._next_check.clear()
        for name in list(self._models):
            try:
                await self._refresh_model(name, force=True)
            except CryptoServiceError as exc:
                log.warning("after reconfigure, %s: %s", name, exc)
        log.info("crypto serving config: %s", json.dumps(self.config.to_dict()))

    def start_listeners(self) -> None:
        """Follow the candle channel of every supported symbol (real-time predictions)."""
        if self.config.realtime:
            for symbol in SUPPORTED_SYMBOLS:
                self._listener(symbol)

    async def close(self) -> None:
        tasks = [t for t, _ in self._listeners.values()] + list(self._background.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._listeners.clear()
        self._background.clear()
        if self._owns_stores:
            await self.stores.close()

    async def reset_stats(self) -> dict[str, Any]:
        """Zero the counters (benchmarks); returns the ones replaced."""
        old, self.stats = asdict(self.stats), _Stats()
        return old

    async def status(self) -> dict[str, Any]:
        return {
            "pid": self._pid,
            "started_at": _iso(self._created),
            "config": self.config.to_dict(),
            "models": {
                name: {**m.info(), "loaded_at": _iso(m.loaded_at)}
                for name, m in self._models.items()
            },
            "histories": {
                s: {"last": h.last.isoformat() if h.last is not None else None,
                    "rows": len(h.frame)}
                for s, h in self._histories.items()
            },
            "listening": sorted(s for s, (t, _) in self._listeners.items() if not t.done()),
            "stats": asdict(self.stats),
        }

    # ------------------------------------------------------------ requests
    def _parse(self, symbol: str, horizon: object | None) -> tuple[str, int, str]:
        canonical = normalize_symbol(symbol)  # UnknownSymbolError outside SUPPORTED_SYMBOLS
        if horizon is None or (isinstance(horizon, str) and not horizon.strip()):
            h = self.config.horizons[0]
        else:
            h = validate_horizon(horizon)
        if h not in self.config.horizons:
            served = ", ".join(map(str, self.config.horizons))
            raise InvalidHorizonError(
                f"horizon {h} is not served; served horizon(s): {served} candle(s) of "
                f"{self.config.interval}"
            )
        return canonical, h, model_name(canonical, self.config.interval, h)

    async def predict(self, symbol: str, horizon: object | None = None) -> dict[str, Any]:
        """The prediction for the newest stored candle of ``symbol`` (``horizon`` candles
        ahead; default the first served horizon)."""
        await self._ensure_started()
        self.stats.requests += 1
        canonical, _, name = self._parse(symbol, horizon)
        if self.config.cache_predictions:
            loaded, hist = self._models.get(name), self._histories.get(canonical)
            if loaded is not None and hist is not None and hist.last is not None:
                now = self.clock()
                if now < self._next_check.get(name, 0.0) and now < hist.next_check:
                    self._check_age(loaded)
                    hit = self._memo.get(self._key(loaded, hist.last))
                    if hit is not None:
                        self.stats.memo_hits += 1
                        return self._response(hit, loaded, hist, cached=True, for_ingress=True)
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
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(requests))
        results: list[Result | None] = [None] * len(requests)
        parsed: dict[int, tuple[str, int, str]] = {}
        for i, (symbol, horizon) in enumerate(requests):
            try:
                parsed[i] = self._parse(symbol, horizon)
            except CryptoError as exc:
                results[i] = exc
        models: dict[str, LoadedModel | BaseException] = {}
        for name in {p[2] for p in parsed.values()}:
            try:
                model = await self._model(name)
                self._check_age(model)
                models[name] = model
            except (CryptoError, CryptoServiceError) as exc:
                models[name] = exc
        histories: dict[str, History | BaseException] = {}
        for symbol in {p[0] for p in parsed.values()}:
            needs = [m.predictor.required_history for m in models.values()
                     if isinstance(m, LoadedModel) and m.predictor.symbol == symbol]
            if not needs:
                continue  # every model of this symbol failed: its requests get that error
            need = max(needs)
            try:
                histories[symbol] = await self._history(symbol, need)
            except CryptoServiceError as exc:
                histories[symbol] = exc
        wanted: dict[int, tuple[LoadedModel, History]] = {}
        for i, (symbol, _, name) in parsed.items():
            loaded = models[name]
            if isinstance(loaded, BaseException):
                results[i] = loaded
                continue
            hist = histories[symbol]
            if isinstance(hist, BaseException):
                results[i] = hist
            else:
                wanted[i] = (loaded, hist)
        if wanted:
            jobs = [(loaded, hist.frame) for loaded, hist in wanted.values()]
            answers = await self._predictions(jobs)
            for (i, (loaded, hist)), answer in zip(wanted.items(), answers, strict=True):
                if isinstance(answer, BaseException):
                    results[i] = answer
                else:
                    pred, cached = answer
                    results[i] = self._response(pred, loaded, hist, cached=cached,
                                                for_ingress=True)
        return [r if r is not None else RuntimeError("unanswered") for r in results]

    def _response(
        self,
        pred: dict[str, Any],
        loaded: LoadedModel,
        hist: History | None,
        *,
        cached: bool,
        for_ingress: bool = False,
    ) -> dict[str, Any]:
        """The answer for a client. ``for_ingress``: with ``INGRESS_TTL`` — how long the
        ingress may answer the same request with it (it removes the key)."""
        synthetic = loaded.synthetic or (hist is not None and hist.synthetic)
        out = {
            **pred,
            "data_time": pred["as_of"],
            "model": loaded.info(),
            "skill": loaded.skill,
            "synthetic_data": synthetic,
            "cached": cached,
        }
        if for_ingress:
            c = self.config
            out[INGRESS_TTL] = c.ingress_cache_s if c.cache_predictions else 0.0
        if synthetic:
            out["note"] = (
                "SYNTHETIC data: this model and/or its candles are a generated random walk "
                "(no real market data was available); the forecast means nothing"
            )
        return out

    # ------------------------------------------------------------ predictions
    @staticmethod
    def _key(loaded: LoadedModel, as_of: pd.Timestamp) -> str:
        return f"crypto:pred:{loaded.record.name}:v{loaded.record.version}:{as_of.isoformat()}"

    def _remember(self, key: str, pred: dict[str, Any]) -> None:
        self._memo[key] = pred
        self._memo.move_to_end(key)
        while len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)

    async def _predictions(
        self, jobs: Sequence[tuple[LoadedModel, pd.DataFrame]]
    ) -> list[tuple[dict[str, Any], bool] | BaseException]:
        """Prediction (and whether it came from a cache) for each ``(model, candles)`` at the
        newest candle. Distinct keys are computed once; with caching on, the replica memo,
        computations in flight for other requests and the Cache kind are used first."""
        keys = [self._key(m, frame.index[-1]) for m, frame in jobs]
        found: dict[str, tuple[dict[str, Any], bool] | BaseException] = {}
        todo: dict[str, tuple[LoadedModel, pd.DataFrame]] = {}
        waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        use_cache = self.config.cache_predictions
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
        if todo:
            loop = asyncio.get_running_loop()
            futures = {key: loop.create_future() for key in todo}
            if use_cache:  # from here on, other requests for these keys wait for this one
                self._inflight.update(futures)
            try:
                computed = await self._resolve(todo)
            except BaseException as exc:
                failure = exc if isinstance(exc, Exception) else ModelLoadError(
                    "the computation was cancelled; try again")
                computed = dict.fromkeys(todo, failure)
                if not isinstance(exc, Exception):
                    self._settle(futures, computed)
                    raise
            finally:
                for key in futures:
                    self._inflight.pop(key, None)
            self._settle(futures, computed)
            for key, value in computed.items():
                found[key] = value
                if use_cache and not isinstance(value, BaseException):
                    self._remember(key, value[0])
        for key, future in waiting.items():
            try:
                found[key] = (await asyncio.shield(future), True)
            except Exception as exc:
                found[key] = exc
        return [found[key] for key in keys]

    @staticmethod
    def _settle(
        futures: dict[str, asyncio.Future[dict[str, Any]]],
        results: dict[str, tuple[dict[str, Any], bool] | BaseException],
    ) -> None:
        for key, future in futures.items():
            if future.done():
                continue
            value = results[key]
            if isinstance(value, BaseException):
                future.set_exception(value)
                future.exception()  # marked retrieved: there may be no one waiting
            else:
                future.set_result(value[0])

    async def _resolve(
        self, todo: dict[str, tuple[LoadedModel, pd.DataFrame]]
    ) -> dict[str, tuple[dict[str, Any], bool] | BaseException]:
        """The Cache kind first (when caching; best effort: a cache that is down only costs a
        computation), then one computation for the rest."""
        out: dict[str, tuple[dict[str, Any], bool] | BaseException] = {}
        rest = dict(todo)
        if self.config.cache_predictions:
            try:
                stored = await self.stores.cache.get_many(list(rest))
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
            if self.config.cache_predictions:
                ttl = self.config.prediction_ttl_s
                try:
                    for key, value in computed.items():
                        if not isinstance(value, BaseException):
                            await self.stores.cache.set_json(key, value, ttl)
                except StorageError as exc:
                    log.warning("prediction cache unavailable: %s", exc)
        return out

    async def _compute(
        self, todo: dict[str, tuple[LoadedModel, pd.DataFrame]]
    ) -> dict[str, dict[str, Any] | BaseException]:
        """One model call per model for all its distinct candles (in a thread)."""
        by_model: dict[str, list[str]] = {}
        for key, (loaded, _) in todo.items():
            by_model.setdefault(loaded.record.id, []).append(key)
        out: dict[str, dict[str, Any] | BaseException] = {}
        for keys in by_model.values():
            loaded = todo[keys[0]][0]
            predictor = loaded.predictor
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
        step = parse_interval(self.config.interval)
        return await self.data.sentiment_series(
            predictor.symbol,
            window.index[0] - freq * (features.sentiment_window + 1),
            window.index[-1] + step + freq,
            freq=features.sentiment_freq,
        )

    # ------------------------------------------------------------ models
    async def _model(self, name: str) -> LoadedModel:
        loaded = self._models.get(name)
        if loaded is None:
            return await self._refresh_model(name)
        if self.clock() >= self._next_check.get(name, 0.0):
            self._spawn(f"model:{name}", self._refresh_model(name))
        return loaded

    def _spawn(self, key: str, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` in the background unless work under ``key`` is already running."""
        running = self._background.get(key)
        if running is not None and not running.done():
            work.close()
            return

        async def guarded() -> None:
            try:
                await work
            except CryptoServiceError as exc:
                log.warning("%s: %s", key, exc)
            except Exception:
                log.exception("background %s failed", key)

        self._background[key] = asyncio.get_running_loop().create_task(guarded())

    async def _wanted(self, name: str) -> ModelVersion | None:
        self.stats.registry_checks += 1
        pin = self.config.pins.get(name)
        if pin is None:
            return await self.registry.current(name)
        for record in await self.registry.versions(name):
            if record.version == pin:
                return record
        raise NoModelError(f"{name} is pinned to version {pin}, which is not registered")

    async def _refresh_model(self, name: str, *, force: bool = False) -> LoadedModel:
        lock = self._model_locks.setdefault(name, asyncio.Lock())
        async with lock:
            loaded = self._models.get(name)
            if loaded is not None and not force and self.clock() < self._next_check.get(name, 0):
                return loaded
            record = await self._wanted(name)
            self._next_check[name] = self.clock() + self.config.refresh_s
            if record is None:
                self._models.pop(name, None)
                raise await self._missing(name)
            if loaded is not None and loaded.record.id == record.id:
                loaded = replace(loaded, record=record)
            else:
                try:
                    loaded = await self._load(record)
                except (CryptoError, OSError, ValueError) as exc:
                    if loaded is not None:
                        log.error("keeping %s v%d: cannot load v%d: %s", name,
                                  loaded.record.version, record.version, exc)
                        return loaded
                    raise ModelLoadError(
                        f"model {name} v{record.version} cannot be loaded from "
                        f"{record.artifact_uri}: {exc}"
                    ) from exc
                previous = self._models.get(name)
                log.info("serving %s v%d (was %s)", name, record.version,
                         f"v{previous.record.version}" if previous else "none")
            self._models[name] = loaded
            return loaded

    async def _load(self, record: ModelVersion) -> LoadedModel:
        from actors.crypto.predictor import CryptoPredictor

        predictor = await asyncio.to_thread(
            CryptoPredictor.load, record.artifact_uri, str(record.version)
        )
        expected = model_name(predictor.symbol, predictor.interval, predictor.horizon)
        if expected != record.name:
            raise ArtifactError(f"artifact {record.artifact_uri} is a {expected} model")
        self.stats.model_loads += 1
        skill = str(record.metrics.get("skill") or skill_of(record.metrics.get("walkforward")))
        return LoadedModel(record, predictor, skill or NO_SKILL, time.time())

    async def _missing(self, name: str) -> CryptoServiceError:
        """Why there is no model: being trained (a running ``crypto-train`` job) or never."""
        for job in await Jobs(self.stores.database).list(TRAIN_JOB, 20):
            fresh = time.time() - job.updated_at < 6 * 3600
            active = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
            if active and fresh and job.params.get("model") == name:
                source = job.params.get("source", {})
                what = "synthetic (generated) candles" if source.get("kind") == SYNTHETIC \
                    else f"{source.get('kind', 'stored')} data"
                return ModelTrainingError(
                    f"model {name} is being trained on {what} (job {job.id}, started "
                    f"{_duration(time.time() - job.created_at)} ago); try again in a minute"
                )
        return NoModelError(
            f"no model registered as {name}; train one with `python -m training.crypto_train` "
            "or `python -m training.crypto_tune --register`"
        )

    def _check_age(self, loaded: LoadedModel) -> None:
        age = self.clock() - loaded.record.created_at
        limit = self.config.max_model_age_s
        if age > limit:
            raise StaleModelError(
                f"refusing to predict with {loaded.record.name} v{loaded.record.version}: it was "
                f"registered {_duration(age)} ago, more than the allowed {_duration(limit)} "
                "(ARMILLARY_CRYPTO_MAX_MODEL_AGE_S); train and register a new version"
            )

    # ------------------------------------------------------------ candles
    async def _history(self, symbol: str, need: int) -> History:
        hist = self._histories.get(symbol)
        rows = max(need, HISTORY_ROWS)
        if hist is None or hist.last is None or len(hist.frame) < need:
            hist = await self._refresh_history(symbol, rows)
        elif self.clock() >= hist.next_check:
            self._spawn(f"history:{symbol}", self._refresh_history(symbol, rows))
        if hist.last is None:
            raise NoCandlesError(
                f"no {self.config.interval} candles stored for {symbol}: import some "
                "(POST /api/v1/crypto/candles/import) or run the market feed"
            )
        if len(hist.frame) < need:
            raise NoCandlesError(
                f"{len(hist.frame)} {self.config.interval} candles stored for {symbol}; "
                f"the model needs the newest {need}"
            )
        return hist

    async def _refresh_history(self, symbol: str, rows: int) -> History:
        lock = self._history_locks.setdefault(symbol, asyncio.Lock())
        async with lock:
            hist = self._histories.get(symbol)
            if hist is not None and hist.last is not None and len(hist.frame) >= rows \
                    and self.clock() < hist.next_check:
                return hist
            frame = await self.data.read_candles(symbol, self.config.interval, last=rows)
            hist = History(frame, self.clock() + self.config.refresh_s)
            self._histories[symbol] = hist
            return hist

    def _append(self, symbol: str, candle: Candle, source: str) -> None:
        hist = self._histories.get(symbol)
        if hist is None or hist.last is None or candle.timestamp <= hist.last:
            if hist is not None and hist.last is not None and candle.timestamp == hist.last:
                hist.next_check = 0.0  # a corrected candle: re-read soon
            return
        step = parse_interval(self.config.interval)
        row = pd.DataFrame(
            [[candle.open, candle.high, candle.low, candle.close, candle.volume,
              candle.timestamp - hist.last > step, source]],
            columns=[*CANDLE_COLUMNS, "gap_before", "source"],
            index=pd.DatetimeIndex([candle.timestamp], name="timestamp"),
        )
        frame = pd.concat([hist.frame, row.astype(hist.frame.dtypes.to_dict())])
        hist.frame = frame.iloc[-max(HISTORY_ROWS, len(hist.frame)) :]

    async def on_candle(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """A new candle from the feed: extend the history, predict every served horizon at it,
        and (once across replicas) store and publish the predictions."""
        await self._ensure_started()
        symbol = normalize_symbol(message["symbol"])
        if message.get("interval") != self.config.interval:
            return []
        candle = Candle(
            symbol, self.config.interval, pd.Timestamp(message["timestamp"]),
            float(message["open"]), float(message["high"]), float(message["low"]),
            float(message["close"]), float(message["volume"]),
        )
        self._append(symbol, candle, str(message.get("source", "feed")))
        out = []
        for h in self.config.horizons:
            name = model_name(symbol, self.config.interval, h)
            try:
                loaded = await self._model(name)
                self._check_age(loaded)
            except CryptoServiceError as exc:
                log.debug("no real-time %s prediction: %s", name, exc)
                continue
            need = loaded.predictor.required_history
            hist = self._histories.get(symbol)
            candles = hist.frame.loc[: candle.timestamp] if hist is not None else None
            if candles is None or len(candles) < need or candles.index[-1] != candle.timestamp:
                candles = await self.data.read_candles(
                    symbol, self.config.interval, end=candle.timestamp, last=need
                )
            if len(candles) < need or candles.index[-1] != candle.timestamp:
                log.warning("cannot predict %s at %s: %d candles stored up to it", name,
                            candle.timestamp, len(candles))
                continue
            [answer] = await self._predictions([(loaded, candles)])
            if isinstance(answer, BaseException):
                log.warning("real-time %s prediction failed: %s", name, answer)
                continue
            response = self._response(answer[0], loaded, None, cached=answer[1])
            out.append(response)
            lock = self._key(loaded, candle.timestamp).replace(":pred:", ":realtime:", 1)
            if await self.stores.cache.set_if_absent(lock, b"1", self.config.prediction_ttl_s):
                self.stats.realtime += 1
                await self.data.write_prediction(response, name)
                await self.data.publish(
                    prediction_channel(symbol), {"type": "prediction", **response}
                )
        return out

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
                await self._ensure_started()
                async with self.stores.eventbus.subscribe(channel) as subscription:
                    ready.set()
                    backoff = 1.0
                    while True:
                        message = await subscription.get(timeout_s=10.0)
                        if message is None:
                            continue
                        try:
                            if message.get("type") == "candle":
                                await self.on_candle(message)
                            elif message.get("type") == "reload":
                                hist = self._histories.get(symbol)
                                if hist is not None:
                                    hist.next_check = 0.0
                        except Exception:
                            log.exception("handling %s message failed", channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listening to %s failed; retrying in %.0f s", channel, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def watch(self, symbol: str) -> dict[str, Any]:
        """Make sure real-time predictions for ``symbol`` are being produced; return the
        channel they are published on (the WebSocket route subscribes to it)."""
        await self._ensure_started()
        canonical = normalize_symbol(symbol)
        ready = self._listener(canonical)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 10.0)
        return {
            "symbol": canonical,
            "interval": self.config.interval,
            "horizons": list(self.config.horizons),
            "channel": prediction_channel(canonical),
            "candles": candle_channel(canonical),
        }

    # ------------------------------------------------------------ backtest
    async def backtest(self, symbol: str, horizon: object | None = None) -> dict[str, Any]:
        """The walk-forward report stored with the served model (without the per-candle
        forecasts)."""
        await self._ensure_started()
        canonical, h, name = self._parse(symbol, horizon)
        loaded = self._models.get(name)
        record = loaded.record if loaded is not None else await self._wanted(name)
        if record is None:
            raise await self._missing(name)
        report = await asyncio.to_thread(read_backtest, record.artifact_uri)
        if report is None:
            raise NoModelError(f"{name} v{record.version} has no stored walk-forward report")
        report = {k: v for k, v in report.items() if k != "predictions"}
        skill = str(record.metrics.get("skill") or skill_of(report.get("metrics")))
        return {
            "symbol": canonical,
            "interval": self.config.interval,
            "horizon": h,
            "model": {
                "name": record.name,
                "version": record.version,
                "registered_at": _iso(record.created_at),
                "data_range": record.data_range,
                "code_version": record.code_version,
            },
            "skill": skill,
            "synthetic_data": bool(record.data_range.get("synthetic")),
            "report": report,
        }

    # ------------------------------------------------------------ ingest
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
        frame, report = await asyncio.to_thread(import_ohlcv, data, interval=interval or None)
        given = normalize_symbol(symbol, supported=None) if symbol else None
        if given and report.symbol and given != report.symbol:
            raise CsvFormatError(f"the file holds {report.symbol} candles, not {given}")
        canonical = given or report.symbol
        if not canonical:
            raise CsvFormatError("the file has no symbol column: give the symbol field")
        source = f"import:{(filename or 'upload')[:100]}"
        stored = await self.data.write_candles(frame, canonical, report.interval, source)
        await self.data.publish(
            candle_channel(canonical),
            {"type": "reload", "symbol": canonical, "interval": report.interval},
        )
        hist = self._histories.get(canonical)
        if hist is not None:
            hist.next_check = 0.0
        body = report.to_dict()
        body["symbol"] = canonical
        return {
            "symbol": canonical,
            "interval": report.interval,
            "stored": stored,
            "fixed": {k: v for k, v in report.fixes.items() if v},
            "report": body,
        }

    async def add_sentiment(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Score ``{"timestamp", "symbol", "text"}`` items with VADER and store the scores."""
        await self._ensure_started()
        if self._scorer is None:
            from actors.crypto.sentiment import SentimentScorer

            self._scorer = await asyncio.to_thread(SentimentScorer)
        scorer = self._scorer
        scored = []
        for i, item in enumerate(items):
            try:
                moment = pd.Timestamp(item["timestamp"])
            except (ValueError, TypeError) as exc:
                raise CryptoError(f"item {i}: unreadable timestamp {item['timestamp']!r}") from exc
            moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert(
                "UTC")
            compound = scorer.score(str(item["text"]))
            scored.append({
                "timestamp": moment.isoformat(),
                "symbol": normalize_symbol(item["symbol"], supported=None),
                "text": str(item["text"]),
                "compound": compound,
                "label": LABELS[scorer.label(compound)],
            })
        stored = await self.data.write_sentiment(
            [{**s, "label": scorer.label(s["compound"])} for s in scored]
        )
        buckets: dict[str, list[dict[str, Any]]] = {}
        frame = pd.DataFrame(scored)
        if not frame.empty:
            from actors.crypto.stores import bucket_scores

            for sym, group in frame.groupby("symbol"):
                agg = bucket_scores(
                    list(pd.to_datetime(group["timestamp"], utc=True)),
                    list(group["compound"]), "1h",
                )
                buckets[str(sym)] = [
                    {"bucket": t.isoformat(), "compound_mean": float(mean), "count": int(n)}
                    for t, mean, n in zip(
                        agg.index, agg["compound_mean"], agg["count"], strict=True
                    )
                ]
        return {
            "stored": stored,
            "items": [{k: v for k, v in s.items() if k != "text"} for s in scored],
            "hourly": buckets,
        }


# ------------------------------------------------------------------ Serve
class CryptoReplica(CryptoService):
    """The Serve replica: its own stores (embedded ones through their owner actors), the
    user_config through ``reconfigure``, and ``@serve.batch`` on the compute path."""

    def __init__(self) -> None:
        settings = load_settings()
        super().__init__(settings, open_stores(settings, via_ray=True), owns_stores=True)

    async def reconfigure(self, config: dict[str, Any] | None) -> None:
        await super().reconfigure(config)
        batched: Any = self._batched  # serve.batch adds the setters
        batched.set_max_batch_size(self.config.max_batch_size)
        batched.set_batch_wait_timeout_s(self.config.batch_wait_timeout_s)
        self.start_listeners()

    async def _submit(self, request: Request) -> Result:
        if self.config.batching:
            result: Result = await self._batched(request)
            return result
        return await super()._submit(request)

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.002)
    async def _batched(self, requests: list[Request]) -> list[Result]:
        return await self.predict_many(requests)


CryptoDeployment: Deployment = serve.deployment(
    name="Crypto",
    num_replicas=1,
    max_ongoing_requests=128,
    ray_actor_options={"num_cpus": 0.25},
)(CryptoReplica)
