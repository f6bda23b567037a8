"""Quick (non-Tune) training of the crypto sequence model, registered in the model registry.

    python -m training.crypto_train --data ../shared/data/crypto/ohlcv/Binance_BTCUSDT_1h.csv
    python -m training.crypto_train --from-store --symbol BTC/USDT     # the Warehouse history
    python -m training.crypto_train --from-store --sentiment           # + stored sentiment
    python -m training.crypto_train --synthetic                         # labelled random walk

One fixed, small configuration (no search): the training *procedure* is first judged by a
walk-forward backtest on the newest data (retrained per fold, scored out of sample against
persistence), then the model is fitted on all the data, saved as a versioned artifact under
``<data_dir>/artifacts/crypto/<name>/`` with its ``backtest.json``, and registered as the
current version of ``crypto-<symbol>-<interval>-h<horizon>``, in this process (the training
itself: :mod:`actors.crypto.training`); its job row is held with a lease while it runs. On
first start ``armillary up`` asks the crypto service for the same training as a job instead
(:mod:`deployments.crypto.training`); ``training.crypto_tune --register`` is the searched
alternative. It works as a Ray job too (``ray job submit -- python -m
training.crypto_train ...``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from actors.crypto.csv_import import import_ohlcv
from actors.crypto.errors import CryptoError
from actors.crypto.registry import (
    TRAIN_JOB,
    model_name,
    new_artifact_dir,
    register_artifact,
)
from actors.crypto.symbols import normalize_symbol
from actors.crypto.synthetic import SYNTHETIC, synthetic_candles
from actors.crypto.training import QuickTrainConfig, code_version, train_artifact
from config.settings import Settings, load_settings
from storage.database.base import Database
from storage.jobs.holding import holding
from storage.records.jobs import Jobs
from storage.records.models import ModelRegistry, ModelVersion

log = logging.getLogger("armillary.crypto.train")
__all__ = ["QuickTrainConfig", "load_training_candles", "main", "train_and_register",
           "train_artifact"]


async def train_and_register(
    settings: Settings,
    database: Database,
    candles: pd.DataFrame,
    *,
    symbol: str,
    interval: str,
    config: QuickTrainConfig,
    source: dict[str, Any],
    sentiment: pd.DataFrame | None = None,
    job_owner: str | None = None,
    job_id: str | None = None,
) -> dict[str, Any]:
    """Train (in a thread), register, and return the registry record as a dict. Progress is
    recorded in the ``crypto-train`` job ``job_id``, or a new one owned by ``job_owner``
    (while it runs, the service answers "being trained" for this model)."""
    name = model_name(symbol, interval, config.horizon)
    jobs = Jobs(database)
    job = await jobs.get(job_id) if job_id else None
    if job is None and job_owner is not None:
        job = await jobs.create(TRAIN_JOB, job_owner, {"model": name, "source": source})
    held = holding(jobs, job.id, f"cli-{os.getpid()}") if job else contextlib.nullcontext()
    async with held:  # the job's lease, renewed while this process trains
        if job is not None:
            await jobs.progress(job.id, 0, 1)
        try:
            record = await _train(settings, database, candles, name, symbol=symbol,
                                  interval=interval, config=config, source=source,
                                  sentiment=sentiment)
        except Exception as exc:
            if job is not None:
                await jobs.finish(job.id, error=f"{type(exc).__name__}: {exc}")
            raise
        if job is not None:
            await jobs.finish(job.id, result={"model": name, "version": record.version})
    return {**asdict(record), "job_id": job.id if job else None}


async def _train(settings: Settings, database: Database, candles: pd.DataFrame, name: str,
                 *, symbol: str, interval: str, config: QuickTrainConfig,
                 source: dict[str, Any], sentiment: pd.DataFrame | None) -> ModelVersion:
    """Train in a thread of this (command line) process, then register."""
    started = time.perf_counter()
    trained = await asyncio.to_thread(
        train_artifact, candles, symbol=symbol, interval=interval,
        out_dir=new_artifact_dir(settings.data_dir, name), config=config,
        code_version=code_version(), source=source, sentiment=sentiment)
    return await register_artifact(
        ModelRegistry(database, settings.model_keep_versions), trained.artifact_dir,
        code_version=str(trained.metadata.get("code_version", "unknown")), source=source,
        backtest=trained.backtest,
        extra_metrics={"train_seconds": round(time.perf_counter() - started, 1)})


def load_training_candles(
    data: str | None, *, synthetic: bool, symbol: str | None, interval: str, rows: int
) -> tuple[pd.DataFrame, str, str, dict[str, Any]]:
    """``(candles, symbol, interval, source)`` from a CSV file or generated synthetic data."""
    if synthetic:
        sym = normalize_symbol(symbol or "BTC/USDT", supported=None)
        frame = synthetic_candles(rows, end=pd.Timestamp.now(tz="UTC"), interval=interval)
        return frame, sym, interval, {"kind": SYNTHETIC, "note": "random walk, not market data"}
    if not data:
        raise CryptoError("give --data FILE, --from-store or --synthetic")
    frame, report = import_ohlcv(data)
    named = symbol or report.symbol
    if not named:
        raise CryptoError(f"{data} has no symbol column: pass --symbol")
    source = {"kind": "file", "path": str(Path(data).resolve()), "rows": report.rows_out}
    return frame, normalize_symbol(named, supported=None), report.interval, source


async def _main_async(args: argparse.Namespace) -> dict[str, Any]:
    from storage.registry import open_backend

    settings = load_settings()
    if args.sentiment and not args.from_store:
        raise CryptoError("--sentiment reads the stored sentiment scores: use it with --from-store")
    config = QuickTrainConfig(
        horizon=args.horizon,
        last_rows=args.last_rows or None,
        epochs=args.epochs,
        folds=args.folds,
        seed=args.seed,
        sentiment=args.sentiment,
    )
    sentiment = None
    if args.from_store:

        from actors.crypto.stores import CryptoStores
        from storage.stores import open_stores
        from training.ray_connect import connect

        # the suite's own cluster, where the embedded stores' owners live
        connect(settings, allow_local=False)
        stores = open_stores(settings, via_ray=True)
        symbol = normalize_symbol(args.symbol or "BTC/USDT", supported=None)
        interval = args.interval or settings.crypto_interval
        data = CryptoStores(stores.timeseries, stores.warehouse)
        candles = await data.read_candles(symbol, interval, last=config.last_rows)
        if args.sentiment and len(candles):
            sentiment = await data.sentiment_series(
                symbol, candles.index[0] - pd.Timedelta(days=2),
                candles.index[-1] + pd.Timedelta(days=1),
            )
        synthetic = bool(len(candles)) and bool((candles["source"] == SYNTHETIC).all())
        source = {"kind": SYNTHETIC if synthetic else "store", "rows": len(candles)}
    else:
        candles, symbol, interval, source = load_training_candles(
            args.data, synthetic=args.synthetic, symbol=args.symbol,
            interval=args.interval or "1h", rows=args.rows,
        )
    database = open_backend("database", settings.url("database"))
    await database.connect()
    try:
        await database.migrate()
        return await train_and_register(
            settings, database, candles, symbol=symbol, interval=interval, config=config,
            source=source, sentiment=sentiment, job_owner="cli",
        )
    finally:
        await database.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", default=None, help="OHLCV CSV (CCXT or CryptoDataDownload)")
    parser.add_argument("--from-store", action="store_true", help="train on the stored history")
    parser.add_argument("--synthetic", action="store_true", help="labelled synthetic candles")
    parser.add_argument("--symbol", default=None)
    parser.add_argument("--interval", default=None)
    parser.add_argument("--horizon", type=int, default=1)
    parser.add_argument("--last-rows", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=3000, help="synthetic candles to generate")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sentiment", action="store_true",
                        help="with --from-store: add the stored sentiment scores as features")
    args = parser.parse_args(argv)
    result = asyncio.run(_main_async(args))
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
