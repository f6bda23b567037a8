"""Quick (non-Tune) training of the crypto sequence model, registered in the model registry.

    python -m training.crypto_train --data ../shared/data/crypto/ohlcv/Binance_BTCUSDT_1h.csv
    python -m training.crypto_train --from-store --symbol BTC/USDT     # the Warehouse history
    python -m training.crypto_train --from-store --sentiment           # + stored sentiment
    python -m training.crypto_train --synthetic                         # labelled random walk

One fixed, small configuration (no search): the training *procedure* is first judged by a
walk-forward backtest on the newest data (retrained per fold, scored out of sample against
persistence), then the model is fitted on all the data, saved as a versioned artifact under
``<data_dir>/artifacts/crypto/<name>/`` with its ``backtest.json``, and registered as the
current version of ``crypto-<symbol>-<interval>-h<horizon>``. ``make run`` runs it as a Ray
task on first start; ``training.crypto_tune --register`` is the searched alternative. It works
as a Ray job too (``ray job submit -- python -m training.crypto_train ...``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from actors.crypto.csv_import import import_ohlcv
from actors.crypto.errors import CryptoError, InsufficientDataError
from actors.crypto.features import FeatureConfig
from actors.crypto.registry import (
    MODEL_KEY,
    TRAIN_JOB,
    model_name,
    new_artifact_dir,
    register_artifact,
    report_to_dict,
    write_backtest,
)
from actors.crypto.sequence import SequenceConfig, SequenceForecaster
from actors.crypto.symbols import format_interval, normalize_symbol, parse_interval
from actors.crypto.synthetic import SYNTHETIC, synthetic_candles
from actors.crypto.walkforward import WalkForwardConfig, walk_forward
from config.settings import Settings, load_settings
from storage.database.base import Database
from storage.records.jobs import Jobs
from storage.records.models import ModelRegistry

log = logging.getLogger("armillary.crypto.train")


@dataclass(frozen=True)
class QuickTrainConfig:
    """A small, fixed model that trains in about a minute on two shared cores."""

    horizon: int = 1
    last_rows: int | None = 3000
    architecture: str = "lstm"
    window: int = 24
    units: int = 16
    epochs: int = 3
    folds: int = 2
    test_size: int = 250
    seed: int = 0
    sentiment: bool = False

    def sequence_config(self) -> SequenceConfig:
        return SequenceConfig.from_dict(
            {
                "architecture": self.architecture,
                "window": self.window,
                "units": self.units,
                "epochs": self.epochs,
                "seed": self.seed,
                "threads": 1,
            }
        )


@dataclass(frozen=True)
class TrainedArtifact:
    artifact_dir: Path
    name: str
    backtest: dict[str, Any] | None
    metadata: dict[str, Any]


def fold_layout(rows: int, config: QuickTrainConfig) -> WalkForwardConfig:
    """The walk-forward folds for ``rows`` candles: ``config.folds`` test blocks at the end,
    shrunk when the data is short (each fold keeps at least 60 % of the rows for training)."""
    usable = rows - config.horizon
    test = min(config.test_size, max(10, int(usable * 0.4) // max(config.folds, 1)))
    initial = usable - config.folds * test
    if initial < 100:
        raise InsufficientDataError(
            f"{rows} candles are too few for a {config.folds}-fold walk-forward backtest"
        )
    return WalkForwardConfig(
        horizon=config.horizon, initial_train=initial, test_size=test, n_folds=config.folds
    )


def train_artifact(
    candles: pd.DataFrame,
    *,
    symbol: str,
    interval: str,
    out_dir: str | Path,
    config: QuickTrainConfig,
    code_version: str,
    source: dict[str, Any],
    sentiment: pd.DataFrame | None = None,
) -> TrainedArtifact:
    """Backtest the procedure (walk-forward, when ``config.folds``), fit on all of
    ``candles[-last_rows:]`` and save the artifact with its ``backtest.json``."""
    symbol = normalize_symbol(symbol, supported=None)
    interval = format_interval(parse_interval(interval))
    data = candles.iloc[-config.last_rows :] if config.last_rows else candles
    data = data[["open", "high", "low", "close", "volume"]]
    seq = config.sequence_config()
    features = FeatureConfig(sentiment=config.sentiment)

    def factory() -> SequenceForecaster:
        return SequenceForecaster(config.horizon, seq, features, symbol=symbol, interval=interval)

    backtest = None
    if config.folds > 0:
        report = walk_forward(
            data, {MODEL_KEY: factory}, fold_layout(len(data), config), sentiment=sentiment
        )
        backtest = report_to_dict(report)
    model = factory().fit(data, sentiment)
    flat = {}
    if backtest is not None:
        for who in (MODEL_KEY, "persistence"):
            for key, value in backtest["metrics"][who].items():
                if key != "model":
                    flat[f"wf_{who}_{key}"] = value
    out = Path(out_dir)
    model.save(
        out,
        metrics=flat,
        extra={
            "code_version": code_version,
            "data_source": source,
            "trained_rows": len(data),
            "train_config": asdict(config),
        },
    )
    if backtest is not None:
        write_backtest(out, backtest)
    name = model_name(symbol, interval, config.horizon)
    return TrainedArtifact(out, name, backtest, model.metadata)


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
    from training.crypto_tune import code_version

    name = model_name(symbol, interval, config.horizon)
    jobs = Jobs(database)
    job = await jobs.get(job_id) if job_id else None
    if job is None and job_owner is not None:
        job = await jobs.create(TRAIN_JOB, job_owner, {"model": name, "source": source})
    if job is not None:
        await jobs.progress(job.id, 0, 1)
    started = time.perf_counter()
    try:
        trained = await asyncio.to_thread(
            train_artifact,
            candles,
            symbol=symbol,
            interval=interval,
            out_dir=new_artifact_dir(settings.data_dir, name),
            config=config,
            code_version=code_version(),
            source=source,
            sentiment=sentiment,
        )
        record = await register_artifact(
            ModelRegistry(database),
            trained.artifact_dir,
            code_version=str(trained.metadata.get("code_version", "unknown")),
            source=source,
            backtest=trained.backtest,
            extra_metrics={"train_seconds": round(time.perf_counter() - started, 1)},
        )
    except Exception as exc:
        if job is not None:
            await jobs.finish(job.id, error=f"{type(exc).__name__}: {exc}")
        raise
    result = {**asdict(record), "job_id": job.id if job else None}
    if job is not None:
        await jobs.finish(job.id, result={"model": name, "version": record.version})
    return result


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
