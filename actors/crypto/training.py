"""Training the crypto sequence model: plain functions that a job's Ray task (or the
``python -m training.crypto_train`` command) runs in a process of its own.

One fixed, small configuration (`QuickTrainConfig`, no search): the training *procedure* is
first judged by a walk-forward backtest on the newest data (retrained per fold, scored out of
sample against persistence), then the model is fitted on all the data and saved as a
versioned artifact with its ``backtest.json`` (`train_artifact`). `train_saved` is the same
as one picklable call with plain arguments, for a task runner.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from actors.crypto.errors import CryptoError, InsufficientDataError
from actors.crypto.features import FeatureConfig
from actors.crypto.registry import MODEL_KEY, model_name, report_to_dict, write_backtest
from actors.crypto.sequence import SequenceConfig, SequenceForecaster
from actors.crypto.symbols import format_interval, normalize_symbol, parse_interval
from actors.crypto.walkforward import WalkForwardConfig, walk_forward

REPO_ROOT = Path(__file__).resolve().parents[2]


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

    @classmethod
    def checked(cls, values: dict[str, Any]) -> QuickTrainConfig:
        """The config with ``values`` changed; unknown fields, values of another type
        than the default's and negative numbers (zero: only folds, seed) are refused."""
        defaults = asdict(cls())
        unknown = sorted(set(values) - set(defaults))
        if unknown:
            raise CryptoError(f"unknown training config fields {unknown}")
        for key, value in values.items():
            kind = type(defaults[key])
            if key == "last_rows" and value is None:
                continue
            minimum = 0 if key in ("folds", "seed") else 1
            if type(value) is not kind or (kind is int and value < minimum):
                raise CryptoError(f"training config {key}={value!r} is not a valid {kind.__name__}")
        return cls(**{**defaults, **values})

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


def _flat_metrics(backtest: dict[str, Any] | None) -> dict[str, Any]:
    """The walk-forward scores of the model and of persistence, as ``wf_<who>_<metric>``."""
    if backtest is None:
        return {}
    return {f"wf_{who}_{key}": value for who in (MODEL_KEY, "persistence")
            for key, value in backtest["metrics"][who].items() if key != "model"}


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
    out = Path(out_dir)
    model.save(out, metrics=_flat_metrics(backtest), extra={
        "code_version": code_version, "data_source": source, "trained_rows": len(data),
        "train_config": asdict(config)})
    if backtest is not None:
        write_backtest(out, backtest)
    name = model_name(symbol, interval, config.horizon)
    return TrainedArtifact(out, name, backtest, model.metadata)


def code_version() -> str:
    """Git commit of this checkout (``+dirty`` with uncommitted changes), or ``unknown``."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        sha = subprocess.run(  # noqa: S603 (fixed argv, git from PATH)
            [git, "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            [git, "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def train_saved(candles: pd.DataFrame, symbol: str, interval: str, out_dir: str,
                config: dict[str, Any], source: dict[str, Any],
                sentiment: pd.DataFrame | None = None) -> dict[str, Any]:
    """`train_artifact` with plain arguments (``config``: a `QuickTrainConfig` as a dict;
    ``sentiment``: the stored, dated sentiment buckets when ``config["sentiment"]``) and a
    plain result: the artifact's ``artifact_dir``, ``name``, ``backtest``, ``metadata``, the
    ``train_seconds`` and the ``pid`` of the process that trained."""
    started = time.perf_counter()
    trained = train_artifact(candles, symbol=symbol, interval=interval, out_dir=out_dir,
                             config=QuickTrainConfig(**config), code_version=code_version(),
                             source=source, sentiment=sentiment)
    return {"artifact_dir": str(trained.artifact_dir), "name": trained.name,
            "backtest": trained.backtest, "metadata": trained.metadata,
            "train_seconds": round(time.perf_counter() - started, 1), "pid": os.getpid()}
