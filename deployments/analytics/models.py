"""The fitted models the analytics service answers with, loaded from the ModelRegistry.

Each role (clv, uplift, mmm, segments, propensity) of the reference sets maps to a
registry name; by default the current version is loaded, or a pinned version (`pin`,
used by `reconfigure`). A model of an imported dataset is registered as
``dataset_model_name(role, dataset_id)`` (:mod:`actors.analytics.training`) and served at
its current version.
Loaded versions are re-checked against the registry at most every `refresh_s`
(:class:`storage.records.models.VersionResolver`), so a model registered by training
elsewhere is picked up by every replica.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from actors.analytics.errors import AnalyticsError, NotFittedError
from actors.analytics.persistence import load_model
from actors.analytics.training import REFERENCE, REFERENCE_NAMES, dataset_model_name
from storage.records.models import (
    ModelRegistry,
    ModelVersion,
    UnknownVersionError,
    VersionResolver,
)

DEFAULT_NAMES: dict[str, str] = dict(REFERENCE_NAMES)


def train_hint(dataset_id: str) -> str:
    """The action that fits the models of ``dataset_id``."""
    if dataset_id == REFERENCE:
        return ("train on the reference data: POST /api/v1/analytics/training with "
                '{"dataset_id": "reference"}')
    return ('train on this dataset: POST /api/v1/analytics/training with '
            f'{{"dataset_id": "{dataset_id}"}} (the analytics page: "Train on this dataset")')


def artifact_path(uri: str) -> Path:
    """A registry artifact URI (``file:///...`` or a plain path) as a local path."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path if parsed.scheme else uri))
    raise AnalyticsError(f"unsupported artifact URI {uri!r}")


@dataclass(frozen=True)
class Loaded:
    version: ModelVersion
    model: Any


class ModelSet:
    def __init__(self, registry: ModelRegistry, names: dict[str, str] | None = None,
                 refresh_s: float = 30.0) -> None:
        self._registry = registry
        self.names = dict(DEFAULT_NAMES if names is None else names)
        self.pins: dict[str, int] = {}
        self._loaded: dict[str, Loaded] = {}
        self._versions = VersionResolver(registry, refresh_s)
        self._lock = asyncio.Lock()

    def configure(self, names: dict[str, str] | None, pins: dict[str, int] | None) -> None:
        """New role -> name map and pinned versions; everything reloads on next use."""
        unknown = set(pins or {}) - set(names or self.names)
        if unknown:
            raise AnalyticsError(f"pinned versions for unknown model roles {sorted(unknown)}")
        if names is not None:
            self.names = dict(names)
        self.pins = dict(pins or {})
        self._versions.forget()

    def name_of(self, role: str, dataset_id: str = REFERENCE) -> str:
        """The registry name serving ``role`` for ``dataset_id``."""
        if role not in self.names:
            raise AnalyticsError(f"unknown model role {role!r}")
        return self.names[role] if dataset_id == REFERENCE else dataset_model_name(
            role, dataset_id)

    async def get(self, role: str, dataset_id: str = REFERENCE) -> Loaded:
        """The model for `role` fitted on `dataset_id` (default: the reference sets);
        `NotFittedError` naming the training action when none is registered."""
        name = self.name_of(role, dataset_id)
        pin = self.pins.get(role) if dataset_id == REFERENCE else None
        key = role if dataset_id == REFERENCE else name
        async with self._lock:
            if key not in self._loaded or self._versions.due(name, pin):
                try:
                    wanted = await self._versions.resolve(name, pin, force=True)
                except UnknownVersionError as exc:
                    raise NotFittedError(str(exc)) from exc
                if wanted is None:
                    self._loaded.pop(key, None)
                elif key not in self._loaded or self._loaded[key].version.id != wanted.id:
                    model, _ = await asyncio.to_thread(
                        load_model, artifact_path(wanted.artifact_uri))
                    self._loaded[key] = Loaded(wanted, model)
            loaded = self._loaded.get(key)
        if loaded is None:
            what = ("the reference data" if dataset_id == REFERENCE
                    else f"dataset {dataset_id!r}")
            raise NotFittedError(f"no {role} model ({name!r}) is registered for {what} yet; "
                                 + train_hint(dataset_id))
        return loaded

    async def describe(self) -> dict[str, Any]:
        """Per role: the registry name, the pinned version and the registered versions."""
        out: dict[str, Any] = {}
        for role, name in self.names.items():
            versions = await self._registry.versions(name)
            loaded = self._loaded.get(role)
            out[role] = {
                "name": name, "pinned": self.pins.get(role),
                "loaded_version": None if loaded is None else loaded.version.version,
                "versions": [{"version": v.version, "is_current": v.is_current,
                              "metrics": v.metrics, "created_at": v.created_at}
                             for v in versions[:10]],
            }
        return out
