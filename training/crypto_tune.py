"""Ray Tune search over the crypto sequence model's hyperparameters (ASHA early stopping).

Run locally or as a Ray job::

    python -m training.crypto_tune --data ../shared/data/crypto/ohlcv/Binance_BTCUSDT_1h.csv \
        --horizon 1 --num-samples 4 --max-epochs 4 --storage-path /tmp/armillary-tune

Each trial trains on the older part of the (optionally truncated) series and is scored every
epoch on the newer part (``val_mae``, ``val_mase``, ...), reporting with
``ray.tune.report(metrics, checkpoint=...)``; the checkpoint *is* a model artifact directory
(see :mod:`actors.crypto.sequence`). A killed run continues where it stopped when started again
with the same ``--storage-path``/``--name`` (``Tuner.can_restore`` / ``Tuner.restore``), and
trials resume from their last checkpoint. The validation slice chooses hyperparameters, so its
scores are optimistic: judge the chosen model with the walk-forward benchmark.

With ``--register`` (as a Ray job: ``ray job submit -- python -m training.crypto_tune ...
--register``) the best trial's configuration is backtested walk-forward on the same candles
(retrained per fold, scored against persistence), and its artifact is copied into the artifact
store (``<data_dir>/artifacts/crypto/``) with that report and registered as the current version
of ``crypto-<symbol>-<interval>-h<horizon>`` in the model registry of the settings
(``ARMILLARY_DATABASE_URL``, ``ARMILLARY_DATA_DIR``); serving replicas pick it up on their next
registry check.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from actors.crypto.csv_import import import_ohlcv
from actors.crypto.errors import CryptoError, InsufficientDataError
from actors.crypto.features import FeatureConfig, future_return
from actors.crypto.metrics import evaluate_forecast
from actors.crypto.sequence import SequenceConfig, SequenceForecaster
from actors.crypto.symbols import normalize_symbol, validate_horizon
from actors.crypto.training import code_version
from config.workloads import batch_options, batch_slots, lower_priority
from training.ray_connect import init_address, init_local

METRIC = "val_mae"


@dataclass
class TuneSettings:
    """What to tune on and how much compute to spend (defaults: tiny, 2 CPUs)."""

    data_path: str
    symbol: str | None = None  # default: the file's symbol column
    horizon: int = 1
    last_rows: int | None = 3000  # newest candles used (None: all)
    validation_fraction: float = 0.2
    num_samples: int = 4
    max_epochs: int = 4
    grace_period: int = 1
    cpus_per_trial: float = 1.0
    """Slots of the batch pool per trial (config.workloads; logical CPUs on a cluster
    without one)."""
    num_cpus: int = 2  # for a local Ray started here (ignored when joining a cluster)
    storage_path: str = field(default_factory=lambda: str(Path.home() / "armillary-tune"))
    name: str = "crypto_tune"
    output_dir: str | None = None  # where the best artifact is copied (default: storage)
    seed: int = 0


@dataclass(frozen=True)
class TuneOutcome:
    """The best trial, ready for the model registry."""

    artifact_dir: str
    metrics: dict[str, float]
    config: dict[str, Any]
    data_range: tuple[str, str]
    symbol: str
    interval: str
    horizon: int
    code_version: str
    experiment_path: str
    restored: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def search_space() -> dict[str, Any]:
    """Hyperparameters searched (small models: this runs on two shared cores)."""
    from ray import tune

    return {
        "architecture": tune.choice(["lstm", "tcn"]),
        "window": tune.choice([16, 32]),
        "units": tune.choice([8, 16, 32]),
        "layers": tune.choice([1, 2]),
        "dropout": tune.choice([0.0, 0.1]),
        "learning_rate": tune.loguniform(3e-4, 3e-3),
        "direction_weight": tune.choice([0.0, 0.5]),
    }


def load_split(data: dict[str, Any]) -> tuple[Any, int, str, str]:
    """``(candles, first validation row, symbol, interval)`` for the trial data settings."""
    candles, report = import_ohlcv(data["data_path"])
    symbol = data.get("symbol") or report.symbol
    if not symbol:
        raise CryptoError("the file has no symbol column: pass --symbol")
    if data.get("last_rows"):
        candles = candles.iloc[-int(data["last_rows"]) :]
    cut = int(len(candles) * (1 - float(data["validation_fraction"])))
    if cut < 200 or len(candles) - cut < 50:
        raise InsufficientDataError(f"{len(candles)} candles are too few to tune on")
    return candles, cut, normalize_symbol(symbol, supported=None), report.interval


def train_trial(config: dict[str, Any]) -> None:
    """Ray Tune function trainable: one epoch per report, the artifact as checkpoint."""
    from ray import tune

    lower_priority()  # a batch process: requests on the same cores come first
    data = config["data"]
    horizon = validate_horizon(data["horizon"])
    candles, cut, symbol, interval = load_split(data)
    train, val_start = candles.iloc[:cut], candles.index[cut]
    actual = future_return(candles, horizon).loc[val_start:].dropna()

    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as path:
            model = SequenceForecaster.load(path)
        epoch = int(model.metadata.get("epoch", 0))
    else:
        model_config = SequenceConfig.from_dict(
            {
                **{k: v for k, v in config.items() if k != "data"},
                "epochs": 1,
                "validation_fraction": 0.0,
                "seed": data["seed"],
                "threads": 1,
            }
        )
        model = SequenceForecaster(
            horizon, model_config, FeatureConfig(), symbol=symbol, interval=interval
        )
        epoch = 0
    resumed_from = epoch  # > 0: this run of the trial continued from a checkpoint
    while epoch < int(data["max_epochs"]):
        model.fit(train, epochs=1)
        epoch += 1
        forecast = model.predict(candles, since=val_start).reindex(actual.index)
        scored = evaluate_forecast(
            model.name, actual.to_numpy(), forecast.to_numpy(), horizon=horizon
        )
        metrics = {
            "epoch": epoch,
            METRIC: scored.mae,
            "val_mase": scored.mase,
            "val_rmse": scored.rmse,
            "val_hit_rate": scored.hit_rate,
            "val_dm_p_value": scored.dm_p_value,
            "val_n": scored.n,
            "resumed_from_epoch": resumed_from,
        }
        with tempfile.TemporaryDirectory() as tmp:
            model.save(
                tmp,
                metrics=metrics,
                extra={
                    "epoch": epoch,
                    "validation_range": [val_start.isoformat(), actual.index[-1].isoformat()],
                    "code_version": data["code_version"],
                    "data_path": data["data_path"],
                },
            )
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def run_tune(settings: TuneSettings) -> TuneOutcome:
    """Run (or resume, when the experiment exists) the search; return the best trial."""
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    validate_horizon(settings.horizon)
    load_split(_data_settings(settings, "check"))  # typed errors before Ray starts
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):  # a Ray job's driver: exactly the job's cluster
            init_address(os.environ["RAY_ADDRESS"], verbose=True)
        else:
            init_local(settings.num_cpus, verbose=True)
    storage = Path(settings.storage_path).expanduser().resolve()
    experiment = storage / settings.name
    cluster = ray.cluster_resources()
    # a trial is batch work (config.workloads): slots of the batch pool, no serving CPU
    slots = batch_options(settings.cpus_per_trial, cluster)
    bundle = {k: v for k, v in {"CPU": slots["num_cpus"], **slots.get("resources", {})}.items()
              if v > 0}
    trainable = tune.with_resources(train_trial, tune.PlacementGroupFactory([bundle]))
    concurrent = max(1, int(batch_slots(cluster) // settings.cpus_per_trial))
    restored = tune.Tuner.can_restore(str(experiment))
    if restored:
        tuner = tune.Tuner.restore(
            str(experiment), trainable=trainable, resume_unfinished=True, resume_errored=True
        )
    else:
        version = code_version()
        tuner = tune.Tuner(
            trainable,
            param_space={**search_space(), "data": _data_settings(settings, version)},
            tune_config=tune.TuneConfig(
                metric=METRIC,
                mode="min",
                scheduler=ASHAScheduler(
                    max_t=settings.max_epochs,
                    grace_period=settings.grace_period,
                    reduction_factor=2,
                ),
                num_samples=settings.num_samples,
                max_concurrent_trials=concurrent,
            ),
            run_config=tune.RunConfig(
                name=settings.name,
                storage_path=str(storage),
                checkpoint_config=tune.CheckpointConfig(
                    num_to_keep=2, checkpoint_score_attribute=METRIC, checkpoint_score_order="min"
                ),
                # a trial whose node died starts again from its last checkpoint
                failure_config=tune.FailureConfig(max_failures=3),
                verbose=0,
            ),
        )
    results = tuner.fit()
    best = results.get_best_result(metric=METRIC, mode="min", scope="all")
    best_checkpoint = best.get_best_checkpoint(METRIC, "min")
    if best_checkpoint is None:
        raise RuntimeError(f"no trial of {experiment} produced a checkpoint")
    out_root = Path(settings.output_dir or storage / f"{settings.name}-best").expanduser()
    with best_checkpoint.as_directory() as path:
        model = SequenceForecaster.load(path)
        target = out_root / Path(best.path).name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(path, target)
    meta = model.metadata
    return TuneOutcome(
        artifact_dir=str(target),
        metrics={k: float(v) for k, v in meta.get("metrics", {}).items()},
        config=meta["model"],
        data_range=(str(meta["data_range"][0]), str(meta["data_range"][1])),
        symbol=meta["symbol"],
        interval=meta["interval"],
        horizon=int(meta["horizon"]),
        code_version=str(meta.get("code_version", "unknown")),
        experiment_path=str(experiment),
        restored=restored,
    )


def _data_settings(settings: TuneSettings, version: str) -> dict[str, Any]:
    return {
        "data_path": str(Path(settings.data_path).expanduser().resolve()),
        "symbol": settings.symbol,
        "horizon": settings.horizon,
        "last_rows": settings.last_rows,
        "validation_fraction": settings.validation_fraction,
        "max_epochs": settings.max_epochs,
        "seed": settings.seed,
        "code_version": version,
    }


def register_outcome(
    outcome: TuneOutcome,
    settings: TuneSettings,
    *,
    backtest_folds: int = 2,
    backtest_test_size: int = 250,
) -> dict[str, Any]:
    """Backtest the best configuration walk-forward, copy the best artifact into the artifact
    store with the report, and register it; returns the registry record."""
    import asyncio

    from actors.crypto.registry import (
        MODEL_KEY,
        model_name,
        new_artifact_dir,
        register_artifact,
        report_to_dict,
    )
    from actors.crypto.training import QuickTrainConfig, fold_layout
    from actors.crypto.walkforward import walk_forward
    from config.settings import load_settings
    from storage.records.models import ModelRegistry
    from storage.registry import open_backend

    app = load_settings()
    candles, _, symbol, interval = load_split(_data_settings(settings, outcome.code_version))
    best = SequenceConfig.from_dict({**outcome.config, "epochs": settings.max_epochs})
    features = FeatureConfig()

    def factory() -> SequenceForecaster:
        return SequenceForecaster(outcome.horizon, best, features, symbol=symbol,
                                  interval=interval)

    layout = fold_layout(
        len(candles),
        QuickTrainConfig(horizon=outcome.horizon, folds=backtest_folds,
                         test_size=backtest_test_size),
    )
    report = report_to_dict(walk_forward(candles, {MODEL_KEY: factory}, layout))
    name = model_name(symbol, interval, outcome.horizon)
    target = new_artifact_dir(app.data_dir, name)
    shutil.copytree(outcome.artifact_dir, target)
    source = {"kind": "file", "path": _data_settings(settings, "")["data_path"],
              "rows": len(candles), "tune_experiment": outcome.experiment_path}

    async def store() -> dict[str, Any]:
        db = open_backend("database", app.url("database"))
        await db.connect()
        try:
            await db.migrate()
            record = await register_artifact(
                ModelRegistry(db, app.model_keep_versions), target,
                code_version=outcome.code_version, source=source,
                backtest=report,
                extra_metrics={"validation": outcome.metrics, "tuned": True},
            )
        finally:
            await db.close()
        return asdict(record)

    return asyncio.run(store())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="OHLCV CSV (CCXT or CryptoDataDownload)")
    parser.add_argument("--symbol", default=None)
    parser.add_argument("--horizon", type=int, default=1)
    parser.add_argument("--last-rows", type=int, default=3000)
    parser.add_argument("--num-samples", type=int, default=4)
    parser.add_argument("--max-epochs", type=int, default=4)
    parser.add_argument("--grace-period", type=int, default=1,
                        help="epochs before ASHA may stop a trial (= --max-epochs: no early "
                             "stopping)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--storage-path", default=str(Path.home() / "armillary-tune"))
    parser.add_argument("--name", default="crypto_tune")
    parser.add_argument("--output-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--register", action="store_true",
                        help="backtest the best trial and register it in the model registry")
    parser.add_argument("--backtest-folds", type=int, default=2)
    args = parser.parse_args(argv)
    outcome = run_tune(
        TuneSettings(
            data_path=args.data,
            symbol=args.symbol,
            horizon=args.horizon,
            last_rows=args.last_rows or None,
            num_samples=args.num_samples,
            max_epochs=args.max_epochs,
            grace_period=args.grace_period,
            cpus_per_trial=args.cpus_per_trial,
            num_cpus=args.num_cpus,
            storage_path=args.storage_path,
            name=args.name,
            output_dir=args.output_dir,
            seed=args.seed,
        )
    )
    result: dict[str, Any] = outcome.to_dict()
    if args.register:
        tune_settings = TuneSettings(data_path=args.data, symbol=args.symbol,
                                     horizon=args.horizon, last_rows=args.last_rows or None,
                                     max_epochs=args.max_epochs)
        result["registered"] = register_outcome(
            outcome, tune_settings, backtest_folds=args.backtest_folds
        )
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
