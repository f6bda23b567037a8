from __future__ import annotations

import pandas as pd
import pytest

from actors.crypto.errors import (
    CryptoError,
    InvalidHorizonError,
    InvalidIntervalError,
    UnknownSymbolError,
)
from actors.crypto.symbols import (
    format_interval,
    normalize_symbol,
    parse_interval,
    validate_horizon,
)


@pytest.mark.parametrize("raw", ["BTC/USDT", "btcusdt", "BTC-USDT", " btc_usdt "])
def test_symbol_spellings(raw: str) -> None:
    assert normalize_symbol(raw) == "BTC/USDT"


@pytest.mark.parametrize("raw", ["DOGE/USDT", "XYZ", "", "BTC/US/DT", "BTC/$$", None])
def test_unknown_symbols(raw) -> None:
    with pytest.raises(UnknownSymbolError):
        normalize_symbol(raw)


def test_unsupported_but_parseable_symbol_when_no_list() -> None:
    assert normalize_symbol("dogeusdt", supported=None) == "DOGE/USDT"


@pytest.mark.parametrize(("raw", "value"), [(1, 1), ("24", 24), (168, 168), (3.0, 3)])
def test_valid_horizons(raw, value: int) -> None:
    assert validate_horizon(raw) == value


@pytest.mark.parametrize("raw", [0, -1, 169, 2.5, "abc", "-3", True, None])
def test_invalid_horizons(raw) -> None:
    with pytest.raises(InvalidHorizonError) as info:
        validate_horizon(raw)
    assert isinstance(info.value, CryptoError) and isinstance(info.value, ValueError)


def test_intervals() -> None:
    assert parse_interval("1h") == pd.Timedelta(hours=1)
    assert parse_interval("15m") == pd.Timedelta(minutes=15)
    assert format_interval(parse_interval("2h")) == "2h"
    assert format_interval(parse_interval("1d")) == "1d"
    for bad in ("", "h", "0h", "1y", "1.5h"):
        with pytest.raises(InvalidIntervalError):
            parse_interval(bad)
