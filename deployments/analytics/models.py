"""The fitted models the analytics service answers with, loaded from the ModelRegistry.

Each role (clv, uplift, mmm, segments, propensity) maps to a registry name; by default
the current version is loaded, or a pinned version (`pin`, used by `reconfigure`).
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
from storage.records.models import (
    ModelRegistry,
    ModelVersion,
    UnknownVersionError,
    VersionResolver,
)

DEFAULT_NAMES: dict[str, str] = {
    "clv": "clv_cdnow",
    "uplift": "uplift_womens_visit",
    "mmm": "mmm_robyn",
    "segments": "segments_online_retail",
    "propensity": "propensity_online_retail",
}


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

    async def _wanted(self, role: str) -> ModelVersion | None:
        try:
            return await self._versions.resolve(self.names[role], self.pins.get(role),
                                                force=True)
        except UnknownVersionError as exc:
            raise NotFittedError(str(exc)) from exc

    async def get(self, role: str) -> Loaded:
        """The model for `role`; `NotFittedError` when none is registered."""
        if role not in self.names:
            raise AnalyticsError(f"unknown model role {role!r}")
        async with self._lock:
            if role not in self._loaded or self._versions.due(self.names[role],
                                                              self.pins.get(role)):
                wanted = await self._wanted(role)
                if wanted is None:
                    self._loaded.pop(role, None)
                elif role not in self._loaded or self._loaded[role].version.id != wanted.id:
                    model, _ = await asyncio.to_thread(
                        load_model, artifact_path(wanted.artifact_uri))
                    self._loaded[role] = Loaded(wanted, model)
            loaded = self._loaded.get(role)
        if loaded is None:
            raise NotFittedError(
                f"no {self.names[role]!r} model is registered yet; run analytics training")
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
