"""What the Crypto deployment's ``user_config`` may set (:class:`ServingConfig`; defaults from
the settings), and how a request names a served model under it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from actors.crypto.errors import InvalidHorizonError
from actors.crypto.registry import model_name
from actors.crypto.symbols import (
    format_interval,
    normalize_symbol,
    parse_interval,
    validate_horizon,
)
from config.settings import Settings

HISTORY_MAX_LIMIT = 1000
"""Most stored candles (and predictions) one history request may ask for."""
INGRESS_TTL = "_ingress_ttl_s"
"""Key of a prediction response that only the ingress reads (and removes): how long it may
answer the same request with it (``ServingConfig.ingress_cache_s``)."""


@dataclass(frozen=True)
class ServingConfig:
    """What the deployment's ``user_config`` may set (defaults from the settings)."""

    interval: str = "1h"
    horizons: tuple[int, ...] = (1,)
    refresh_s: float = 5.0
    max_model_age_s: float = 30 * 86_400.0
    batching: bool = True
    max_batch_size: int = 32
    batch_wait_timeout_s: float = 0.002
    cache_predictions: bool = True
    prediction_ttl_s: float = 7 * 86_400.0
    realtime: bool = True
    ingress_cache_s: float = 1.0
    """How long the ingress may answer a repeated request with a response (0: never)."""
    skill_min_improvement: float = 0.02
    """The skill label's minimum effect size (``Settings.crypto_skill_min_improvement``)."""
    pins: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServingConfig:
        return cls(
            interval=settings.crypto_interval,
            horizons=tuple(settings.crypto_horizons),
            refresh_s=settings.crypto_refresh_s,
            max_model_age_s=settings.crypto_max_model_age_s,
            batching=settings.crypto_batching,
            max_batch_size=settings.crypto_max_batch_size,
            batch_wait_timeout_s=settings.crypto_batch_wait_s,
            cache_predictions=settings.crypto_cache_predictions,
            prediction_ttl_s=settings.crypto_prediction_ttl_s,
            ingress_cache_s=settings.crypto_ingress_cache_s,
            skill_min_improvement=settings.crypto_skill_min_improvement,
        )

    def merged(self, overrides: dict[str, Any] | None) -> ServingConfig:
        """A copy with ``overrides`` applied; unknown keys and bad values raise ValueError."""
        overrides = dict(overrides or {})
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown crypto user_config keys {unknown}; known: {sorted(known)}")
        if "horizons" in overrides:
            overrides["horizons"] = tuple(validate_horizon(h) for h in overrides["horizons"])
        if "pins" in overrides:
            overrides["pins"] = {str(k): int(v) for k, v in (overrides["pins"] or {}).items()}
        config = replace(self, **overrides)
        config = replace(config, interval=format_interval(parse_interval(config.interval)))
        if not config.horizons:
            raise ValueError("horizons must name at least one horizon")
        if config.max_batch_size < 1 or config.refresh_s < 0 or config.max_model_age_s <= 0 \
                or config.ingress_cache_s < 0 or not 0 <= config.skill_min_improvement < 1:
            raise ValueError("max_batch_size >= 1, refresh_s >= 0, ingress_cache_s >= 0, "
                             "max_model_age_s > 0 and 0 <= skill_min_improvement < 1")
        return config

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["horizons"] = list(self.horizons)
        return out

    def request(self, symbol: str, horizon: object | None) -> tuple[str, int, str]:
        """(canonical symbol, horizon, model name) of a request; the horizon defaults to the
        first served one. An unknown symbol or a horizon not served raises a CryptoError."""
        canonical = normalize_symbol(symbol)  # UnknownSymbolError outside SUPPORTED_SYMBOLS
        if horizon is None or (isinstance(horizon, str) and not horizon.strip()):
            h = self.horizons[0]
        else:
            h = validate_horizon(horizon)
        if h not in self.horizons:
            served = ", ".join(map(str, self.horizons))
            raise InvalidHorizonError(
                f"horizon {h} is not served; served horizon(s): {served} candle(s) of "
                f"{self.interval}"
            )
        return canonical, h, model_name(canonical, self.interval, h)


def user_config(settings: Settings, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The deployment's user_config: the settings' serving values plus ``overrides``."""
    return ServingConfig.from_settings(settings).merged(overrides).to_dict()
