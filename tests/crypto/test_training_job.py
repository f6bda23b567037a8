"""Crypto training as a job (:mod:`deployments.crypto.training`) on the service core: the
model is trained in another process (a child process here; a Ray task with a batch slot in
the replica), registered and served; predictions say "being trained" meanwhile; bad
requests are refused before a job exists, and a job with no history fails with the reason.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import asdict

import pytest

from actors.crypto.errors import CryptoError, InvalidHorizonError, UnknownSymbolError
from actors.crypto.registry import TRAIN_JOB, model_name
from deployments.crypto.errors import ModelTrainingError
from deployments.crypto.service import CryptoService
from storage.records.jobs import Job
from tests.crypto.models import SYMBOL, tiny_config, tiny_models

NAME = model_name(SYMBOL, "1h", 1)


async def _ended(service: CryptoService, job_id: str, timeout_s: float = 300.0) -> Job:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (job := await service.job_system.jobs.get(job_id)) is None or job.active:
        assert loop.time() < deadline, "the training job did not end"
        await asyncio.sleep(0.2)
    return job


async def test_training_job_trains_elsewhere_and_the_model_is_served(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service()
    await service.data.write_candles(tiny_models().history, SYMBOL, "1h", "test")
    started = await service.train("ann", SYMBOL, 1, source={"kind": "test"},
                                  config=asdict(tiny_config(0)))
    job = await service.job_system.jobs.get(started["job_id"])
    assert job is not None and job.kind == TRAIN_JOB
    with pytest.raises(ModelTrainingError, match=f"being trained.*job {job.id}"):
        await service.predict(SYMBOL)
    done = await _ended(service, job.id)
    assert done.status.value == "succeeded", done.error
    assert done.result is not None and done.result["model"] == NAME
    assert done.result["version"] == 1
    assert done.result["task_pid"] != os.getpid()  # trained in another process
    prediction = await service.predict(SYMBOL)
    assert prediction["model"]["version"] == 1


async def test_training_requests_are_checked_before_a_job_exists(
    make_service: Callable[..., CryptoService],
) -> None:
    service = make_service()
    with pytest.raises(UnknownSymbolError):
        await service.train("ann", "DOGE/USDT")
    with pytest.raises(InvalidHorizonError):
        await service.train("ann", SYMBOL, 7)
    with pytest.raises(CryptoError, match="units='many' is not a valid int"):
        await service.train("ann", SYMBOL, 1, config={"units": "many"})
    with pytest.raises(CryptoError, match="unknown training config fields"):
        await service.train("ann", SYMBOL, 1, config={"layers": 9})
    assert await service.job_system.jobs.count_active() == 0
    started = await service.train("ann", SYMBOL, 1)  # no candles stored
    assert started["model"] == NAME
    failed = await _ended(service, started["job_id"], 60)
    assert failed.status.value == "failed"
    assert failed.error == "no 1h candles of BTC/USDT are stored: import a history first"


async def test_a_sentiment_model_trains_on_stored_dated_sentiment_without_look_ahead(
    make_service: Callable[..., CryptoService],
) -> None:
    """The job reads the stored, dated sentiment (the shared sets have no timestamps, so a
    user supplies it); each candle sees only buckets that ended by its close."""
    import pandas as pd

    from actors.crypto.features import FeatureConfig, build_features
    from actors.crypto.sequence import SequenceForecaster

    service = make_service()
    history = tiny_models().history
    await service.data.write_candles(history, SYMBOL, "1h", "test")
    config = {**asdict(tiny_config(0)), "sentiment": True}
    failed = await _ended(service, (await service.train(
        "ann", SYMBOL, 1, source={"kind": "test"}, config=config))["job_id"])
    assert failed.status.value == "failed" and "no dated sentiment" in (failed.error or "")

    times = pd.date_range(history.index[0], history.index[-1] + pd.Timedelta("6h"),
                          freq="40min")
    words = ["Bitcoin rallies to a record", "Bitcoin plunges", "Exchange opens an office"]
    await service.add_sentiment([{"timestamp": t.isoformat(), "symbol": SYMBOL,
                                  "text": words[i % 3]} for i, t in enumerate(times)])
    # the job's read reaches past the last candle; the as-of join must not use that part
    read = await service.training._sentiment(SYMBOL, history)
    last_close = history.index[-1] + pd.Timedelta("1h")
    assert read.index.max() >= last_close
    cut = read.loc[read.index + pd.Timedelta("1h") <= last_close]
    features = FeatureConfig(sentiment=True)
    full = build_features(history, features, sentiment=read)
    known = build_features(history, features, sentiment=cut)
    pd.testing.assert_frame_equal(full, known)
    assert full["sent_count"].iloc[-1] > 0

    done = await _ended(service, (await service.train(
        "ann", SYMBOL, 1, source={"kind": "test"}, config=config))["job_id"])
    assert done.status.value == "succeeded", done.error
    record = await service.registry.current(NAME)
    assert record is not None
    assert record.data_range["source"]["sentiment_buckets"] > 0
    model = SequenceForecaster.load(record.artifact_uri)
    assert model.features.sentiment and "sent_mean" in model.metadata["scaler"]["columns"]
