"""Walk-forward skill of every crypto forecaster against persistence on the shared Binance data.

    python benchmarks/crypto_skill.py --quick      # ~minutes on 2 cores
    python benchmarks/crypto_skill.py              # all rows, more folds (slow)

For BTC/ETH hourly and daily candles: each model is retrained per fold (expanding window) and
scored out of sample on the same forecast times as persistence (the baseline, in the same run):

* MAE of the log return, MASE (MAE ratio to persistence) and the Diebold-Mariano p-value vs
  persistence, and the skill label: ``skill`` only with MASE <= 1 - ``--min-improvement``
  (default 0.02) *and* DM p < 0.05; ``worse`` when significantly worse than persistence
  (flagged ``<< WORSE``); ``none`` otherwise;
* the direction hit rate (the LSTM's direction is its direction head, P(up) > 0.5; the
  others' the sign of their return forecast), the hit rate of the majority-direction
  baseline of each fold's training data (always up / always down) on the same points, and
  McNemar's exact p-value of the model against that baseline (one-sided: better than it).

``always_up`` is listed as a model too: a direction-only baseline (return +1e-9).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from actors.crypto.baselines import (
    AlwaysUpForecaster,
    DriftForecaster,
    Forecaster,
    MovingAverageForecaster,
    SklearnForecaster,
)
from actors.crypto.csv_import import import_ohlcv
from actors.crypto.metrics import DEFAULT_MIN_IMPROVEMENT, WORSE, skill_verdict
from actors.crypto.sequence import SequenceConfig, SequenceForecaster
from actors.crypto.walkforward import WalkForwardConfig, walk_forward


@dataclass(frozen=True)
class Dataset:
    name: str
    file: str
    interval: str


DATASETS = (
    Dataset("BTC 1h", "Binance_BTCUSDT_1h.csv", "1h"),
    Dataset("ETH 1h", "Binance_ETHUSDT_1h.csv", "1h"),
    Dataset("BTC 1d", "BTC_USDT_1d_binance.csv", "1d"),
    Dataset("ETH 1d", "Binance_ETHUSDT_d.csv", "1d"),
)


REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_ohlcv() -> Path:
    root = os.environ.get("ARMILLARY_SHARED_DIR")
    return (Path(root) if root else REPO_ROOT.parent / "shared") / "data" / "crypto" / "ohlcv"


def models(horizon: int, interval: str, epochs: int) -> dict[str, Callable[[], Forecaster]]:
    ma = 24 if interval == "1h" else 20
    seq = SequenceConfig(window=24, units=16, epochs=epochs, threads=1)
    return {
        "drift": lambda: DriftForecaster(horizon),
        "always_up": lambda: AlwaysUpForecaster(horizon),
        f"ma{ma}": lambda: MovingAverageForecaster(horizon, ma),
        "ridge": lambda: SklearnForecaster(horizon, "ridge", interval=interval),
        "gbr": lambda: SklearnForecaster(horizon, "gbr", interval=interval),
        "lstm": lambda: SequenceForecaster(horizon, seq, interval=interval),
    }


def plan(dataset: Dataset, rows: int, quick: bool) -> tuple[int | None, WalkForwardConfig]:
    """``(rows kept from the end, fold layout)``."""
    if dataset.interval == "1h":
        if quick:
            return 5000, WalkForwardConfig(initial_train=3000, test_size=500, n_folds=4)
        return None, WalkForwardConfig(initial_train=8000, test_size=2000)
    if quick:
        return None, WalkForwardConfig(initial_train=1000, test_size=250, n_folds=4)
    return None, WalkForwardConfig(initial_train=800, test_size=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows/folds/epochs")
    parser.add_argument("--horizon", type=int, default=1)
    parser.add_argument("--datasets", default=",".join(d.name for d in DATASETS))
    parser.add_argument("--min-improvement", type=float, default=DEFAULT_MIN_IMPROVEMENT,
                        help="the skill label's minimum MAE improvement (0.02: MASE <= 0.98)")
    args = parser.parse_args(argv)
    wanted = {n.strip() for n in args.datasets.split(",")}
    epochs = 3 if args.quick else 6
    load_start = os.getloadavg()
    header = (
        f"{'data':<7} {'model':<10} {'n':>6} {'MAE':>9} {'MASE':>7} {'DM p':>8} {'label':<6} "
        f"{'hit':>6} {'base hit':>8} {'base':>5} {'p vs base':>9}"
    )
    print(f"skill = MASE <= {1 - args.min_improvement:.2f} and DM p < 0.05; worse = MASE > 1 "
          "and DM p < 0.05. 'base' = majority direction of the training folds (up/down/mix), "
          "'base hit' its hit rate on the points the model called, 'p vs base' McNemar exact "
          "(one-sided).")
    print(header)
    print("-" * len(header))
    began = time.perf_counter()
    for dataset in DATASETS:
        if dataset.name not in wanted:
            continue
        candles, _ = import_ohlcv(shared_ohlcv() / dataset.file)
        keep, layout = plan(dataset, len(candles), args.quick)
        if keep:
            candles = candles.iloc[-keep:]
        config = WalkForwardConfig(**{**layout.__dict__, "horizon": args.horizon})
        report = walk_forward(candles, models(args.horizon, dataset.interval, epochs), config)
        majority = set(report.predictions["baseline_direction"].dropna().unique())
        base = "up" if majority == {1.0} else "down" if majority == {-1.0} else "mix"
        for name, m in report.metrics.items():
            label = ("base" if name == "persistence"
                     else skill_verdict(m, min_improvement=args.min_improvement))
            flag = "  << WORSE than persistence" if label == WORSE else ""
            print(
                f"{dataset.name:<7} {name:<10} {m.n:>6} {m.mae:>9.5f} {m.mase:>7.4f} "
                f"{m.dm_p_value:>8.3g} {label:<6} {m.hit_rate:>6.3f} {m.baseline_hit_rate:>8.3f} "
                f"{base:>5} {m.direction_vs_baseline_p_value:>9.3g}{flag}"
            )
        first, last = report.folds[0].test_start, report.folds[-1].test_end
        print(f"{'':<7} ({len(report.folds)} folds, forecasts {first:%Y-%m-%d} .. {last:%Y-%m-%d})")
        sys.stdout.flush()
    load_end = os.getloadavg()
    print(f"elapsed {time.perf_counter() - began:.0f} s, horizon {args.horizon} candle(s); "
          f"load average (1 min) at start {load_start[0]:.1f}, at end {load_end[0]:.1f}, "
          f"{os.cpu_count()} CPUs (shared machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
