"""Validation of user-facing parameters: trading symbols, horizons and candle intervals."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from actors.crypto.errors import InvalidHorizonError, InvalidIntervalError, UnknownSymbolError

SUPPORTED_SYMBOLS: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")
QUOTES: tuple[str, ...] = ("USDT", "USDC", "BUSD", "USD", "EUR", "BTC", "ETH")
MAX_HORIZON = 168

_SEPARATORS = re.compile(r"[-_:/ ]")


def normalize_symbol(symbol: str, supported: Iterable[str] | None = SUPPORTED_SYMBOLS) -> str:
    """Return the canonical ``BASE/QUOTE`` spelling of ``symbol`` (``btcusdt``, ``BTC-USDT`` and
    ``BTC/USDT`` are all ``BTC/USDT``). Raises ``UnknownSymbolError`` when it cannot be parsed or,
    unless ``supported`` is None, when it is not in ``supported``."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise UnknownSymbolError(f"symbol must be a non-empty string, got {symbol!r}")
    raw = symbol.strip().upper()
    parts = [p for p in _SEPARATORS.split(raw) if p]
    if len(parts) == 2:
        base, quote = parts
    elif len(parts) == 1:
        for q in QUOTES:
            if raw.endswith(q) and len(raw) > len(q):
                base, quote = raw[: -len(q)], q
                break
        else:
            raise UnknownSymbolError(f"cannot split {symbol!r} into base and quote currency")
    else:
        raise UnknownSymbolError(f"cannot parse symbol {symbol!r}")
    if not (base.isalnum() and quote.isalnum()):
        raise UnknownSymbolError(f"cannot parse symbol {symbol!r}")
    canonical = f"{base}/{quote}"
    if supported is not None:
        allowed = {normalize_symbol(s, None) for s in supported}
        if canonical not in allowed:
            raise UnknownSymbolError(
                f"unknown symbol {symbol!r}; supported: {', '.join(sorted(allowed))}"
            )
    return canonical


def validate_horizon(horizon: object, max_horizon: int = MAX_HORIZON) -> int:
    """Return ``horizon`` as an int in ``1..max_horizon`` (candles ahead) or raise
    ``InvalidHorizonError``. Strings of digits are accepted (query parameters)."""
    if isinstance(horizon, bool):
        raise InvalidHorizonError(f"horizon must be an integer, got {horizon!r}")
    if isinstance(horizon, str) and horizon.strip().isdigit():
        horizon = int(horizon.strip())
    if isinstance(horizon, float) and horizon.is_integer():
        horizon = int(horizon)
    if not isinstance(horizon, int):
        raise InvalidHorizonError(f"horizon must be an integer number of candles, got {horizon!r}")
    if not 1 <= horizon <= max_horizon:
        raise InvalidHorizonError(f"horizon must be between 1 and {max_horizon}, got {horizon}")
    return horizon


_INTERVAL = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNIT = {"m": "min", "h": "h", "d": "D", "w": "W"}


def parse_interval(interval: str) -> pd.Timedelta:
    """``"1h"`` → 1 hour, ``"15m"`` → 15 minutes, ``"1d"`` → 1 day (ccxt timeframe spelling)."""
    match = _INTERVAL.match(interval) if isinstance(interval, str) else None
    if match is None:
        raise InvalidIntervalError(f"interval must look like 15m, 1h, 1d or 1w; got {interval!r}")
    n, unit = int(match.group(1)), match.group(2).lower()
    if n <= 0:
        raise InvalidIntervalError(f"interval must be positive, got {interval!r}")
    return pd.Timedelta(n, unit=_UNIT[unit])


def format_interval(delta: pd.Timedelta) -> str:
    """Inverse of :func:`parse_interval` for whole minutes/hours/days/weeks."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        raise InvalidIntervalError(f"interval must be positive, got {delta}")
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
