"""Two tiny trained crypto models (different seeds) on synthetic candles, trained once per
test process and shared by the crypto, route and Serve tests; plus helpers to store candles
and register the models."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from actors.crypto.registry import register_artifact
from storage.records.models import ModelRegistry, ModelVersion
from tests.crypto.synthetic import synthetic_candles
from training.crypto_train import QuickTrainConfig, train_artifact

SYMBOL = "BTC/USDT"
HISTORY = 540  # candles the models were trained on (and tests store); the rest is "the future"


@dataclass(frozen=True)
class TinyModels:
    candles: pd.DataFrame  # HISTORY + 20 hourly candles
    v1: Path
    v2: Path

    @property
    def history(self) -> pd.DataFrame:
        return self.candles.iloc[:HISTORY]

    @property
    def future(self) -> pd.DataFrame:
        return self.candles.iloc[HISTORY:]


def tiny_config(seed: int) -> QuickTrainConfig:
    return QuickTrainConfig(
        horizon=1, last_rows=None, window=8, units=4, epochs=1, folds=1, test_size=60, seed=seed
    )


@functools.cache
def tiny_models() -> TinyModels:
    root = Path(tempfile.mkdtemp(prefix="armillary-crypto-models-"))
    atexit.register(shutil.rmtree, root, True)
    candles = synthetic_candles(HISTORY + 20, seed=11, phi=0.2)
    dirs = []
    for seed in (0, 1):
        trained = train_artifact(
            candles.iloc[:HISTORY],
            symbol=SYMBOL,
            interval="1h",
            out_dir=root / f"seed{seed}",
            config=tiny_config(seed),
            code_version="test",
            source={"kind": "test", "note": "tests.crypto.synthetic"},
        )
        dirs.append(trained.artifact_dir)
    return TinyModels(candles, dirs[0], dirs[1])


async def register(registry: ModelRegistry, artifact: Path) -> ModelVersion:
    return await register_artifact(
        registry, artifact, code_version="test", source={"kind": "test"}
    )


def candles_csv(frame: pd.DataFrame, symbol: str | None = SYMBOL) -> bytes:
    """Candles as a CCXT-style CSV (``timestamp,open,...``), with a symbol column if given."""
    out = frame[["open", "high", "low", "close", "volume"]].copy()
    if symbol:
        out.insert(0, "symbol", symbol)
    out.index = out.index.strftime("%Y-%m-%d %H:%M:%S")
    return out.to_csv(index_label="timestamp").encode()
