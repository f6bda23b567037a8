"""The answer a client gets for a prediction."""

from __future__ import annotations

from typing import Any

from deployments.crypto.config import INGRESS_TTL, ServingConfig
from deployments.crypto.history import History
from deployments.crypto.models import LoadedModel

SYNTHETIC_NOTE = (
    "SYNTHETIC data: this model and/or its candles are a generated random walk "
    "(no real market data was available); the forecast means nothing"
)


def respond(
    pred: dict[str, Any],
    loaded: LoadedModel,
    hist: History | None,
    config: ServingConfig,
    *,
    cached: bool,
    for_ingress: bool = False,
) -> dict[str, Any]:
    """The answer for a client. ``for_ingress``: with ``INGRESS_TTL`` — how long the
    ingress may answer the same request with it (it removes the key)."""
    synthetic = loaded.synthetic or (hist is not None and hist.synthetic)
    out = {
        **pred,
        "data_time": pred["as_of"],
        "model": loaded.info(),
        "skill": loaded.skill,
        "skill_verdict": loaded.skill_verdict,
        "synthetic_data": synthetic,
        "cached": cached,
    }
    if for_ingress:
        out[INGRESS_TTL] = config.ingress_cache_s if config.cache_predictions else 0.0
    if synthetic:
        out["note"] = SYNTHETIC_NOTE
    return out
