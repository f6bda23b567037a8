"""`armillary up` for the crypto service: a working prediction route out of the box.

After the Serve app is up (nothing here runs at import time, nothing blocks the start):

1. **history** (a Ray task): when no candles of BTC/USDT are stored, the shared hourly Binance
   file (``<shared>/data/crypto/ohlcv/Binance_BTCUSDT_1h.csv``) is imported into the TimeSeries
   and the Warehouse — all but its newest ``TAIL`` candles. Without ``../shared`` a random-walk
   series is generated instead, written to ``<data_dir>/crypto/synthetic_BTC_USDT_1h.csv`` with a
   banner saying so, and stored with ``source = "synthetic"``;
2. **first model** (a job of the job system): for every served horizon with no current model
   (or only one older than ``crypto_max_model_age_s``), the Crypto deployment is asked for a
   ``crypto-train`` job (`CryptoService.train`, through its handle); its worker loop waits
   for the history import to finish, then trains the small quick model on the newest stored
   candles as a Ray task with a batch slot (TensorFlow on one thread), backtests it
   walk-forward and registers it. Until it is registered the prediction route answers 503
   "being trained ... (job id)"; the model and every prediction say when the data was
   synthetic. A job a stopped suite left behind is re-queued or failed by the job system's
   reaper;
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
from config.workloads import batch_task_options

SYMBOL = "BTC/USDT"
SHARED_FILE = ("data", "crypto", "ohlcv", "Binance_BTCUSDT_1h.csv")
TAIL = 1000
"""Newest candles of the file kept out of the imported history, for the feed to replay."""
SYNTHETIC_ROWS = 4000
TRAIN_ROWS = 3000
TRAINING_CHECK_S = 5.0


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
    real = shared_file(settings)
    if settings.crypto_interval == "1h" and real.is_file():
        return Plan(SYMBOL, "1h", str(real), False, tuple(settings.crypto_horizons))
    name = f"synthetic_{SYMBOL.replace('/', '_')}_{settings.crypto_interval}.csv"
    path = settings.data_dir / "crypto" / name
    return Plan(SYMBOL, settings.crypto_interval, str(path), True, tuple(settings.crypto_horizons))


async def _prepare_history(plan_: Plan) -> dict[str, Any]:
    from actors.crypto.stores import CryptoStores
    from config.settings import load_settings
    from storage.stores import open_stores

    settings = load_settings()
    stores = open_stores(settings, via_ray=True)
    return await store_history(plan_, CryptoStores(stores.timeseries, stores.warehouse,
                                                   stores.eventbus))


async def store_history(plan_: Plan, data: Any) -> dict[str, Any]:
    """Store the plan's history (all but its newest ``TAIL`` candles) unless some is stored
    already. Stored candles that were SYNTHETIC while the plan now has real ones (../shared
    appeared after a first run) are deleted first and the real history imported in their
    place (``replaced_synthetic``: how many went), so the feed replays the real tail and the
    models are retrained on real data (:func:`_due_models`)."""
    import pandas as pd

    from actors.crypto.csv_import import import_ohlcv
    from actors.crypto.synthetic import SYNTHETIC, synthetic_candles, write_synthetic_csv

    replaced = 0
    stored = await data.candle_range(plan_.symbol, plan_.interval)
    if stored is not None and not plan_.synthetic and \
            SYNTHETIC in await data.candle_sources(plan_.symbol, plan_.interval):
        replaced = stored["count"]
        await data.delete_candles(plan_.symbol, plan_.interval)
        stored = None
    if stored is not None:
        return {"imported": 0, "history_end": stored["last"].isoformat(), "rows": stored["count"],
                "replaced_synthetic": 0}
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
            "rows": len(history), "replaced_synthetic": replaced}


def prepare_history(plan_: Plan) -> dict[str, Any]:
    """Ray task: store the history unless some is stored already."""
    return asyncio.run(_prepare_history(plan_))


async def _due_models(settings: Settings, plan_: Plan) -> dict[int, tuple[str, str]]:
    """Horizon → name of the models to train: none current, the current one stale, or
    trained on SYNTHETIC candles while real ones are there now. Horizon → (model name,
    why: ``"none"``, ``"stale"`` or ``"synthetic"``)."""
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
            if current is None:
                due[h] = (name, "none")
            elif bool(current.data_range.get("synthetic")) and not plan_.synthetic:
                due[h] = (name, "synthetic")
            elif time.time() - current.created_at > settings.crypto_max_model_age_s:
                due[h] = (name, "stale")
        return due
    finally:
        await db.close()


def _submit_training(plan_: Plan, due: dict[int, tuple[str, str]]) -> dict[int, str]:
    """Horizon → id of the training job the Crypto deployment queued for it (the suite's
    own work: outside the job limits)."""
    from ray import serve

    from cluster.local import APP_NAME

    crypto = serve.get_deployment_handle("Crypto", app_name=APP_NAME)
    return {h: crypto.train.remote("system", plan_.symbol, h, source=plan_.source,
                                   wait_for_history=True, limited=False
                                   ).result(timeout_s=60)["job_id"] for h in due}


async def _ended_jobs(settings: Settings, job_ids: list[str]) -> list[Any]:
    """The jobs among ``job_ids`` that have ended (their rows)."""
    from storage.records.jobs import Jobs
    from storage.registry import open_backend

    db = open_backend("database", settings.url("database"))
    await db.connect()
    try:
        jobs = [await Jobs(db).get(job_id) for job_id in job_ids]
        return [job for job in jobs if job is not None and not job.active]
    finally:
        await db.close()


class CryptoBootstrap:
    """Starts the three steps and reports on them from the `armillary up` foreground loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.plan = plan(settings)
        self._history: Any = None
        self._training: list[str] = []
        self._next_check = 0.0
        self._feed_run: Any = None
        self.feed: Any = None
        self.notes: list[str] = []
        """What the bootstrap started, in words (`armillary up` shows it under "training")."""

    def start(self) -> None:
        import ray

        from actors.crypto_feed import FeedConfig
        from cluster.crypto_feed import feed_actor

        p, s = self.plan, self.settings
        what = (f"real Binance candles ({p.path})" if not p.synthetic else
                f"SYNTHETIC candles: no {shared_file(s)} (put the shared data there or set "
                "ARMILLARY_SHARED_DIR, then start again: real candles replace these and the "
                "model is retrained)")
        cluster = ray.cluster_resources()  # background work takes the batch pool
        self._history = ray.remote(prepare_history).options(
            **batch_task_options(cluster)).remote(p)
        due = asyncio.run(_due_models(s, p))
        if due:
            jobs = _submit_training(p, due)
            self._training = list(jobs.values())
            names = ", ".join(name for name, _ in due.values())
            replacing = any(why == "synthetic" for _, why in due.values())
            self.notes.append(
                ("real data appeared since the last run: its candles replace the synthetic "
                 "ones and " if replacing else "")
                + f"crypto model {names} (a small LSTM) is trained on {what}; job "
                f"{', '.join(jobs.values())}. "
                + ("Until it is registered, predictions come from the synthetic model"
                   if replacing else
                   "Predictions answer 503 until it is registered (a minute or two)"))
        else:
            self.notes.append(f"nothing; serving the registered crypto model(s) of {what}")
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
        _log(f"market feed: {config.mode} of {p.symbol} {p.interval}"
             + (f" at {s.crypto_replay_speed:g}x real time, continuing after the stored history"
                if config.mode == "replay" else f" from {config.exchange}")
             + "; real-time predictions on ws://.../api/v1/ws/crypto?symbol=BTC-USDT&token=...")

    def stop(self, timeout_s: float = 1.0) -> None:
        """Stop the market feed (at most ``timeout_s``): no candle is being written when the
        stores close."""
        import ray

        if self.feed is None:
            return
        try:
            ray.wait([self.feed.stop.remote()], timeout=timeout_s)
        except Exception as exc:  # going down anyway
            _log(f"market feed stop: {_first_line(exc)}")

    def poll(self) -> None:
        """Report finished steps (called every half second; never blocks)."""
        import ray

        self._poll_training()
        for attr, label in (("_history", "history"), ("_feed_run", "market feed")):
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
            notable = result.get("error") or result.get("replaced_synthetic")
            (_say if notable else _log)(_summary(label, result))

    def _poll_training(self) -> None:
        """Report the training jobs that ended (their rows, looked at every few seconds)."""
        if not self._training or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + TRAINING_CHECK_S
        try:
            ended = asyncio.run(_ended_jobs(self.settings, self._training))
        except Exception as exc:
            _say(f"could not read the training jobs: {_first_line(exc)}")
            return
        for job in ended:
            self._training.remove(job.id)
            if job.error is not None:
                _say(f"training job {job.id} failed: {job.error}")
            else:
                synthetic = ", SYNTHETIC data" if self.plan.synthetic else ""
                _say(f"registered {job.result['model']} v{job.result['version']} "
                     f"(job {job.id}{synthetic})")


def _summary(label: str, result: Any) -> str:
    if label == "history":
        if result.get("replaced_synthetic"):
            return (f"real history stored: {result['imported']} candles up to "
                    f"{result['history_end']}, in place of {result['replaced_synthetic']} "
                    "synthetic ones")
        if result["imported"]:
            return f"history stored: {result['imported']} candles up to {result['history_end']}"
        return f"history already stored ({result['rows']} candles up to {result['history_end']})"
    return f"market feed {result['state']} after {result['candles']} candle(s)" + (
        f": {result['error']}" if result.get("error") else "")


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    return str(cause if isinstance(cause, BaseException) else exc).strip().splitlines()[0]


def _say(message: str) -> None:
    """A line for the terminal (and the log)."""
    from cluster.console import console

    console.say(f"crypto: {message}")


def _log(message: str) -> None:
    """A line for the log only (the terminal with `armillary up --verbose`)."""
    print(f"crypto: {message}", flush=True)


def shared_file(settings: Settings) -> Path:
    """Where the real candles are looked for."""
    return settings.shared_path.joinpath(*SHARED_FILE)


def start(settings: Settings) -> CryptoBootstrap | None:
    """Start the crypto bootstrap unless ``crypto_bootstrap`` is off."""
    if not settings.crypto_bootstrap:
        return None
    bootstrap = CryptoBootstrap(settings)
    try:
        bootstrap.start()
    except Exception as exc:  # the rest of the suite keeps running
        bootstrap.notes.append(f"nothing: the crypto bootstrap failed: {type(exc).__name__}: "
                               f"{exc}")
    return bootstrap

