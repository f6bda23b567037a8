"""The crypto prediction compute path in one process (no Ray, no HTTP): where a prediction's
time goes, and what batching buys, before and after the per-candle input window.

    python benchmarks/crypto_compute.py             # ~1 minute (trains a small LSTM first)
    python benchmarks/crypto_compute.py --profile   # + a cProfile of the old per-request path

Measured in the same run, on one candle's prediction requested ``--requests`` times with the
prediction cache out of the way:

* before: the feature frame is built for every request (the old path), one model call per
  request (batching off) or per 32 requests (batching on);
* after: :meth:`actors.crypto.predictor.CryptoPredictor.window` computes the input once per
  candle, and a batch calls the model once on its distinct windows.

The suite-level latency (ingress, auth, handle call) is ``benchmarks/crypto_latency.py``.
The load average at start and end is printed: other work on the machine moves every number.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from actors.crypto.predictor import CryptoPredictor
from actors.crypto.synthetic import synthetic_candles
from training.crypto_train import QuickTrainConfig, train_artifact


def _rate(label: str, requests: int, fn: Callable[[], object], reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    median = sorted(times)[len(times) // 2]
    print(f"{label:<46} {median * 1000:9.1f} ms / {requests} requests = "
          f"{requests / median:8.0f} req/s")
    return requests / median


def _p50_ms(fn: Callable[[], object], n: int = 30) -> float:
    values = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        values.append((time.perf_counter() - began) * 1000)
    return sorted(values)[n // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--profile", action="store_true", help="cProfile the old path")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()
    candles = synthetic_candles(600, end=pd.Timestamp("2024-01-01", tz="UTC"), seed=1)
    config = QuickTrainConfig(horizon=1, last_rows=None, window=24, units=16, epochs=1, folds=0)
    with tempfile.TemporaryDirectory() as tmp:
        trained = train_artifact(candles, symbol="BTC/USDT", interval="1h",
                                 out_dir=Path(tmp) / "m", config=config,
                                 code_version="bench", source={"kind": "synthetic"})
        predictor = CryptoPredictor.load(trained.artifact_dir, "1")
    model, n, b = predictor.model, args.requests, args.batch
    frame = candles.iloc[-predictor.required_history :]

    def old_one() -> object:
        return model.predict_windows(model.latest_window(frame))

    def old_batch(size: int) -> object:
        return model.predict_windows(
            np.concatenate([model.latest_window(frame) for _ in range(size)]))

    old_one()
    predictor.predict_latest(frame)
    print(f"SYNTHETIC candles, LSTM window {model.config.window}, {predictor.required_history} "
          f"candles of history per prediction, batches of {b}")
    off0 = _rate("before: features per request, batching off", n,
                 lambda: [old_one() for _ in range(n)])
    on0 = _rate(f"before: features per request, batches of {b}", n,
                lambda: [old_batch(min(b, n - i)) for i in range(0, n, b)])
    off1 = _rate("after: window per candle, batching off", n,
                 lambda: [predictor.predict_latest(frame) for _ in range(n)])
    on1 = _rate(f"after: window per candle, batches of {b}", n,
                lambda: [predictor.predict_batch([(frame, None)] * min(b, n - i))
                         for i in range(0, n, b)])
    print(f"batching on/off: before {on0 / off0:.1f}x, after {on1 / off1:.1f}x; after/before: "
          f"batching on {on1 / on0:.1f}x, off {off1 / off0:.1f}x")
    print(f"1 request p50: before {_p50_ms(old_one):.2f} ms, "
          f"after {_p50_ms(lambda: predictor.predict_latest(frame)):.2f} ms")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(30):
            old_one()
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(12)
    load_end = os.getloadavg()
    print(f"load average (1 min) at start {load_start[0]:.1f}, at end {load_end[0]:.1f}, "
          f"{os.cpu_count()} CPUs (shared machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
