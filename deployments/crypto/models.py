"""The model served under each name (``crypto-btc-usdt-1h-h1``).

Serving "the current version": each name is resolved in the model registry to the version
pinned in the user_config (``pins``), else the current one
(:class:`storage.records.models.VersionResolver`). The registry is checked again at most every
``refresh_s`` seconds, in the background while the loaded model keeps answering,
and at once on ``reconfigure``; a version that cannot be loaded leaves the loaded one
serving. A model registered more than ``max_model_age_s`` ago is refused
(:class:`StaleModelError`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from actors.crypto.errors import ArtifactError, CryptoError
from actors.crypto.metrics import NONE
from actors.crypto.registry import NO_SKILL, TRAIN_JOB, assess, model_name
from actors.crypto.synthetic import SYNTHETIC
from deployments.crypto.background import Background
from deployments.crypto.config import ServingConfig
from deployments.crypto.errors import (
    CryptoServiceError,
    ModelLoadError,
    ModelTrainingError,
    NoModelError,
    StaleModelError,
)
from deployments.crypto.formats import duration, iso
from deployments.crypto.stats import ServingStats
from storage.records.jobs import Jobs, JobStatus
from storage.records.models import (
    ModelRegistry,
    ModelVersion,
    UnknownVersionError,
    VersionResolver,
)

log = logging.getLogger("armillary.crypto")


def skill_label(record: ModelVersion, min_improvement: float) -> tuple[str, str]:
    """``(verdict, statement)`` of a registered version, from its stored walk-forward metrics
    under the current minimum effect size (older versions are judged by today's rule; one
    without metrics keeps its stored statement)."""
    walk = record.metrics.get("walkforward")
    if walk:
        return assess(walk, min_improvement=min_improvement)
    return NONE, str(record.metrics.get("skill") or NO_SKILL)


@dataclass(frozen=True)
class LoadedModel:
    record: ModelVersion
    predictor: Any  # actors.crypto.predictor.CryptoPredictor (TensorFlow: imported on load)
    skill: str
    loaded_at: float
    skill_verdict: str = "none"
    """``skill`` / ``worse`` / ``none`` (:func:`actors.crypto.metrics.skill_verdict`)."""

    @property
    def synthetic(self) -> bool:
        return bool(self.record.data_range.get("synthetic"))

    def info(self) -> dict[str, Any]:
        r = self.record
        return {
            "name": r.name,
            "version": r.version,
            "registered_at": iso(r.created_at),
            "data_range": {k: r.data_range.get(k) for k in ("start", "end", "synthetic")},
            "data_source": r.data_range.get("source"),
            "code_version": r.code_version,
            "architecture": r.metrics.get("architecture"),
        }


class ModelHolder:
    """Resolves, loads and keeps the served model of each name."""

    def __init__(self, registry: ModelRegistry, jobs: Jobs, config: Callable[[], ServingConfig],
                 clock: Callable[[], float], stats: ServingStats,
                 background: Background) -> None:
        self.registry = registry
        self.jobs = jobs
        self.config = config
        self.clock = clock
        self.stats = stats
        self.background = background
        self._models: dict[str, LoadedModel] = {}
        self.versions = VersionResolver(registry, lambda: self.config().refresh_s,
                                        lambda: self.clock())
        self._locks: dict[str, asyncio.Lock] = {}

    def loaded(self) -> dict[str, LoadedModel]:
        return dict(self._models)

    def fresh(self, name: str) -> LoadedModel | None:
        """The loaded model of ``name`` while no registry check is due, else None."""
        loaded = self._models.get(name)
        if loaded is not None and not self._due(name):
            return loaded
        return None

    async def get(self, name: str) -> LoadedModel:
        """The model to serve under ``name``: loaded now if it is not, checked again in the
        background when a check is due."""
        loaded = self._models.get(name)
        if loaded is None:
            return await self.refresh(name)
        if self._due(name):
            self.background.spawn(f"model:{name}", self.refresh(name))
        return loaded

    async def record(self, name: str) -> ModelVersion:
        """The registry record served (or to be served) under ``name``."""
        loaded = self._models.get(name)
        record = loaded.record if loaded is not None else await self._wanted(name)
        if record is None:
            raise await self.missing(name)
        return record

    async def refresh_all(self) -> None:
        """Check the registry for every loaded model now (a new user_config)."""
        self.versions.forget()
        for name in list(self._models):
            try:
                await self.refresh(name, force=True)
            except CryptoServiceError as exc:
                log.warning("after reconfigure, %s: %s", name, exc)

    def _due(self, name: str) -> bool:
        return self.versions.due(name, self.config().pins.get(name))

    async def _wanted(self, name: str, *, remember: bool = False) -> ModelVersion | None:
        """The version to serve under ``name``, asked of the registry now; ``remember``: the
        answer stands for ``refresh_s`` (a refresh)."""
        self.stats.registry_checks += 1
        pin = self.config().pins.get(name)
        try:
            if remember:
                return await self.versions.resolve(name, pin, force=True)
            return await self.versions.lookup(name, pin)
        except UnknownVersionError as exc:
            raise NoModelError(str(exc)) from exc

    async def refresh(self, name: str, *, force: bool = False) -> LoadedModel:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            loaded = self._models.get(name)
            if loaded is not None and not force and not self._due(name):
                return loaded
            record = await self._wanted(name, remember=True)
            if record is None:
                self._models.pop(name, None)
                raise await self.missing(name)
            if loaded is not None and loaded.record.id == record.id:
                loaded = replace(loaded, record=record)
            else:
                loaded = await self._switch(name, loaded, record)
            self._models[name] = loaded
            return loaded

    async def _switch(self, name: str, loaded: LoadedModel | None,
                      record: ModelVersion) -> LoadedModel:
        """``record`` loaded; ``loaded`` kept (logged) when it cannot be."""
        try:
            new = await self._load(record)
        except (CryptoError, OSError, ValueError) as exc:
            if loaded is not None:
                log.error("keeping %s v%d: cannot load v%d: %s", name,
                          loaded.record.version, record.version, exc)
                return loaded
            raise ModelLoadError(
                f"model {name} v{record.version} cannot be loaded from "
                f"{record.artifact_uri}: {exc}"
            ) from exc
        previous = self._models.get(name)
        log.info("serving %s v%d (was %s)", name, record.version,
                 f"v{previous.record.version}" if previous else "none")
        return new

    async def _load(self, record: ModelVersion) -> LoadedModel:
        from actors.crypto.predictor import CryptoPredictor

        predictor = await asyncio.to_thread(
            CryptoPredictor.load, record.artifact_uri, str(record.version)
        )
        expected = model_name(predictor.symbol, predictor.interval, predictor.horizon)
        if expected != record.name:
            raise ArtifactError(f"artifact {record.artifact_uri} is a {expected} model")
        self.stats.model_loads += 1
        verdict, skill = skill_label(record, self.config().skill_min_improvement)
        return LoadedModel(record, predictor, skill, time.time(), verdict)

    async def missing(self, name: str) -> CryptoServiceError:
        """Why there is no model: being trained (a running ``crypto-train`` job) or never."""
        for job in await self.jobs.list(TRAIN_JOB, 20):
            fresh = time.time() - job.updated_at < 6 * 3600
            active = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
            if active and fresh and job.params.get("model") == name:
                source = job.params.get("source", {})
                what = "synthetic (generated) candles" if source.get("kind") == SYNTHETIC \
                    else f"{source.get('kind', 'stored')} data"
                return ModelTrainingError(
                    f"model {name} is being trained on {what} (job {job.id}, started "
                    f"{duration(time.time() - job.created_at)} ago); try again in a minute"
                )
        return NoModelError(
            f"no model registered as {name}; train one with `python -m training.crypto_train` "
            "or `python -m training.crypto_tune --register`"
        )

    def check_age(self, loaded: LoadedModel) -> None:
        """Refuse a model registered longer ago than ``max_model_age_s``."""
        age = self.clock() - loaded.record.created_at
        limit = self.config().max_model_age_s
        if age > limit:
            raise StaleModelError(
                f"refusing to predict with {loaded.record.name} v{loaded.record.version}: it was "
                f"registered {duration(age)} ago, more than the allowed {duration(limit)} "
                "(ARMILLARY_CRYPTO_MAX_MODEL_AGE_S); train and register a new version"
            )
