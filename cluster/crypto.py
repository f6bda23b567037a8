"""`armillary up` for the crypto service: a working prediction route out of the box.

After the Serve app is up (nothing here runs at import time, nothing blocks the start):

1. **history** (a Ray task): when no candles of BTC/USDT are stored, the shared hourly Binance
   file (``<shared>/data/crypto/ohlcv/Binance_BTCUSDT_1h.csv``) is imported into the TimeSeries
   and the Warehouse — all but its newest ``TAIL`` candles. Without ``../shared`` a random-walk
   series is generated instead, written to ``<data_dir>/crypto/synthetic_BTC_USDT_1h.csv`` with a
   banner saying so, and stored with ``source = "synthetic"``;
2. **first model** (a Ray task; TensorFlow on one thread): for every served horizon with no
   current model (or only one older than ``crypto_max_model_age_s``), a ``crypto-train`` job
   trains the small quick model on the newest stored candles, backtests it walk-forward and
   registers it. Until it is registered the prediction route answers 503 "being trained ...
   (job id)"; the model and every prediction say when the data was synthetic;
3. **market feed** (a Ray actor): replays the held-back candles after the newest stored one at
   ``crypto_replay_speed`` (default an hourly candle every 10 s), so new candles — and real-time
   predictions on the WebSocket — keep coming; ``crypto_feed=live`` polls a ccxt exchange instead
   (needs ``crypto_feed_exchange`` and ``crypto_feed_network=true``), ``off`` runs no feed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.settings import Settings
from config.workloads import ACTOR_SLOTS, batch_options, batch_task_options

SYMBOL = "BTC/USDT"
SHARED_FILE = ("data", "crypto", "ohlcv", "Binance_BTCUSDT_1h.csv")
TAIL = 1000
"""Newest candles of the file kept out of the imported history, for the feed to replay."""
SYNTHETIC_ROWS = 4000
TRAIN_ROWS = 3000
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Plan:
    symbol: str
    interval: str
    path: str
    synthetic: bool
    horizons: tuple[int, ...]

    @property
    def source(self) -> dict[str, Any]:
        if self.synthetic:
            return {"kind": "synthetic", "path": self.path,
                    "note": "random walk generated because ../shared/data/crypto was not found"}
        return {"kind": "shared", "path": self.path}


def plan(settings: Settings) -> Plan:
    shared = settings.shared_dir or REPO_ROOT.parent / "shared"
    real = shared.joinpath(*SHARED_FILE)
    if settings.crypto_interval == "1h" and real.is_file():
        return Plan(SYMBOL, "1h", str(real), False, tuple(settings.crypto_horizons))
    name = f"synthetic_{SYMBOL.replace('/', '_')}_{settings.crypto_interval}.csv"
    path = settings.data_dir / "crypto" / name
    return Plan(SYMBOL, settings.crypto_interval, str(path), True, tuple(settings.crypto_horizons))


async def _prepare_history(plan_: Plan) -> dict[str, Any]:
    import pandas as pd

    from actors.crypto.csv_import import import_ohlcv
    from actors.crypto.stores import CryptoStores
    from actors.crypto.synthetic import SYNTHETIC, synthetic_candles, write_synthetic_csv
    from config.settings import load_settings
    from storage.stores import open_stores

    settings = load_settings()
    stores = open_stores(settings, via_ray=True)
    data = CryptoStores(stores.timeseries, stores.warehouse, stores.eventbus)
    stored = await data.candle_range(plan_.symbol, plan_.interval)
    if stored is not None:
        return {"imported": 0, "history_end": stored["last"].isoformat(), "rows": stored["count"]}
    path = Path(plan_.path)

    def read() -> pd.DataFrame:
        if plan_.synthetic and not path.is_file():
            generated = synthetic_candles(SYNTHETIC_ROWS, end=pd.Timestamp.now(tz="UTC"),
                                          interval=plan_.interval)
            write_synthetic_csv(generated, path, plan_.symbol)
        return import_ohlcv(path, interval=plan_.interval)[0]

    frame = await asyncio.to_thread(read)
    history = frame.iloc[:-TAIL]
    source = SYNTHETIC if plan_.synthetic else f"shared:{path.name}"
    written = await data.write_candles(history, plan_.symbol, plan_.interval, source)
    return {"imported": written["warehouse"], "history_end": history.index[-1].isoformat(),
            "rows": len(history)}


def prepare_history(plan_: Plan) -> dict[str, Any]:
    """Ray task: store the history unless some is stored already."""
    return asyncio.run(_prepare_history(plan_))


async def _due_models(settings: Settings, plan_: Plan) -> dict[int, str]:
    """Horizon → name of the models to train (none current, or the current one is stale)."""
    from actors.crypto.registry import model_name
    from storage.records.models import ModelRegistry
    from storage.registry import open_backend

    db = open_backend("database", settings.url("database"))
    await db.connect()
    try:
        registry, due = ModelRegistry(db), {}
        for h in plan_.horizons:
            name = model_name(plan_.symbol, plan_.interval, h)
            current = await registry.current(name)
            if current is None or time.time() - current.created_at > \
                    settings.crypto_max_model_age_s:
                due[h] = name
        return due
    finally:
        await db.close()


async def _queue_jobs(settings: Settings, plan_: Plan, due: dict[int, str]) -> dict[int, str]:
    from actors.crypto.registry import TRAIN_JOB
    from storage.records.jobs import Jobs, JobStatus
    from storage.registry import open_backend

    db = open_backend("database", settings.url("database"))
    await db.connect()
    try:
        jobs = Jobs(db)
        for job in await jobs.list(TRAIN_JOB, 100):  # left running by a suite that stopped
            if job.owner == "system" and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
                await jobs.finish(job.id, error="interrupted: the suite stopped before it ended")
        return {h: (await jobs.create(TRAIN_JOB, "system", {"model": name,
                                                            "source": plan_.source})).id
                for h, name in due.items()}
    finally:
        await db.close()


async def _train(plan_: Plan, jobs: dict[int, str]) -> list[dict[str, Any]]:
    from actors.crypto.stores import CryptoStores
    from config.settings import load_settings
    from storage.records.jobs import Jobs
    from storage.stores import open_stores
    from training.crypto_train import QuickTrainConfig, train_and_register

    settings = load_settings()
    stores = open_stores(settings, via_ray=True)
    await stores.database.connect()
    data = CryptoStores(stores.timeseries, stores.warehouse)
    out = []
    try:
        candles = await data.read_candles(plan_.symbol, plan_.interval, last=TRAIN_ROWS)
        for h, job_id in jobs.items():
            record = await train_and_register(
                settings, stores.database, candles, symbol=plan_.symbol,
                interval=plan_.interval, config=QuickTrainConfig(horizon=h),
                source={**plan_.source, "rows": len(candles)}, job_id=job_id,
            )
            out.append(record)
    except Exception as exc:
        for job_id in jobs.values():
            job = await Jobs(stores.database).get(job_id)
            if job is not None and job.error is None and job.result is None:
                await Jobs(stores.database).finish(job_id, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        await stores.database.close()
    return out


def train_models(
    plan_: Plan, jobs: dict[int, str], _history: dict[str, Any]
) -> list[dict[str, Any]]:
    """Ray task: train and register the due models (after the history is stored)."""
    return asyncio.run(_train(plan_, jobs))


class CryptoBootstrap:
    """Starts the three steps and reports on them from the `armillary up` foreground loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.plan = plan(settings)
        self._history: Any = None
        self._training: Any = None
        self._feed_run: Any = None
        self.feed: Any = None

    def start(self) -> None:
        import ray

        from actors.crypto_feed import FeedConfig
        from cluster.crypto_feed import feed_actor

        p, s = self.plan, self.settings
        what = f"{p.path} (real Binance candles)" if not p.synthetic else \
            f"SYNTHETIC candles ({p.path}): ../shared/data/crypto was not found"
        cluster = ray.cluster_resources()  # background work takes the batch pool
        self._history = ray.remote(prepare_history).options(
            **batch_task_options(cluster)).remote(p)
        due = asyncio.run(_due_models(s, p))
        if due:
            jobs = asyncio.run(_queue_jobs(s, p, due))
            self._training = ray.remote(train_models).options(
                **batch_options(ACTOR_SLOTS, cluster)).remote(p, jobs, self._history)
            _say(f"no current model for {', '.join(due.values())}: training a small LSTM on "
                 f"{what} in the background (job {', '.join(jobs.values())}); the prediction "
                 "route answers 503 until it is registered (about a minute or two)")
        else:
            _say(f"serving the registered model(s); history: {what}")
        if s.crypto_feed == "off":
            return
        if s.crypto_feed == "live":
            config = FeedConfig(p.symbol, p.interval, mode="live",
                                exchange=s.crypto_feed_exchange, network=s.crypto_feed_network)
        else:
            config = FeedConfig(p.symbol, p.interval, path=p.path, after_stored=True,
                                speed=s.crypto_replay_speed)
        self.feed = feed_actor(config, name=f"crypto-feed-{p.symbol.replace('/', '-')}")
        self._feed_run = self.feed.run.remote(self._history)
        _say(f"market feed: {config.mode} of {p.symbol} {p.interval}"
             + (f" at {s.crypto_replay_speed:g}x real time, continuing after the stored history"
                if config.mode == "replay" else f" from {config.exchange}")
             + "; real-time predictions on ws://.../api/v1/ws/crypto?symbol=BTC-USDT&token=...")

    def poll(self) -> None:
        """Report finished steps (called every half second; never blocks)."""
        import ray

        for attr, label in (("_history", "history"), ("_training", "training"),
                            ("_feed_run", "market feed")):
            ref = getattr(self, attr)
            if ref is None:
                continue
            done, _ = ray.wait([ref], timeout=0)
            if not done:
                continue
            setattr(self, attr, None)
            try:
                result = ray.get(ref)
            except Exception as exc:
                _say(f"{label} failed: {_first_line(exc)}")
                continue
            _say(_summary(label, result))


def _summary(label: str, result: Any) -> str:
    if label == "history":
        if result["imported"]:
            return f"history stored: {result['imported']} candles up to {result['history_end']}"
        return f"history already stored ({result['rows']} candles up to {result['history_end']})"
    if label == "training":
        return "; ".join(
            f"registered {r['name']} v{r['version']} (walk-forward: {r['metrics'].get('skill')}"
            + (", SYNTHETIC data" if r["data_range"].get("synthetic") else "") + ")"
            for r in result
        )
    return f"market feed {result['state']} after {result['candles']} candle(s)" + (
        f": {result['error']}" if result.get("error") else "")


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    return str(cause if isinstance(cause, BaseException) else exc).strip().splitlines()[0]


def _say(message: str) -> None:
    print(f"crypto: {message}", flush=True)


def start(settings: Settings) -> CryptoBootstrap | None:
    """Start the crypto bootstrap unless ``crypto_bootstrap`` is off."""
    if not settings.crypto_bootstrap:
        return None
    bootstrap = CryptoBootstrap(settings)
    try:
        bootstrap.start()
    except Exception as exc:  # the rest of the suite keeps running
        _say(f"bootstrap failed: {type(exc).__name__}: {exc}")
    return bootstrap

