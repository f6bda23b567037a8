"""A tiny Ray Tune run, killed mid-way with SIGKILL and resumed from its storage."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actors.crypto.predictor import CryptoPredictor
from tests.crypto.synthetic import synthetic_candles
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _session_pids(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return pids


def _kill_session(sid: int) -> None:
    """Kill what the test started (its own session), nothing else."""
    for pid in _session_pids(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_tune_run_survives_a_kill_and_restores(tmp_path: Path) -> None:
    data = tmp_path / "candles.csv"
    candles = synthetic_candles(900, seed=4, phi=0.3).drop(columns="gap_before")
    candles.to_csv(data, date_format="%Y-%m-%d %H:%M:%S")
    storage = tmp_path / "tune"
    command = [
        sys.executable,
        "-m",
        "training.crypto_tune",
        "--data",
        str(data),
        "--symbol",
        "BTC/USDT",
        "--num-samples",
        "2",
        "--max-epochs",
        "3",
        "--storage-path",
        str(storage),
        "--name",
        "tiny",
        "--output-dir",
        str(tmp_path / "best"),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RAY_DEDUP_LOGS": "0"}
    env.pop("RAY_ADDRESS", None)

    first = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            if list(storage.glob("tiny/*/checkpoint_000000")) and list(
                storage.glob("tiny/experiment_state*.json")
            ):
                break
            assert first.poll() is None, "the tune run ended before it could be killed"
            time.sleep(0.5)
        else:
            pytest.fail("no checkpoint within 150 s")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        _kill_session(first.pid)
    assert first.returncode == -signal.SIGKILL

    second = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        start_new_session=True,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    outcome = json.loads(second.stdout[second.stdout.index("{") :])
    assert outcome["restored"] is True
    assert outcome["symbol"] == "BTC/USDT" and outcome["horizon"] == 1
    assert 0 < outcome["metrics"]["val_mae"] < 0.05
    assert outcome["code_version"] != ""
    assert outcome["data_range"][0] == "2021-01-01T00:00:00+00:00"
    predictor = CryptoPredictor.load(outcome["artifact_dir"])
    window = synthetic_candles(900, seed=4, phi=0.3).iloc[-predictor.required_history :]
    assert predictor.predict_latest(window).symbol == "BTC/USDT"
