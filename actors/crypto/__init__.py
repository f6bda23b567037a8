"""Crypto price prediction domain logic (plain Python, no Ray, no Serve).

Modules, one job each: ``csv_import`` (OHLCV files → clean candles), ``feed`` (replay and live
candles), ``sentiment`` (VADER scoring and aggregation), ``features``, ``baselines``,
``sequence`` (the TensorFlow model and its artifact), ``predictor`` (serving), ``metrics`` and
``walkforward`` (evaluation). TensorFlow is only imported by ``sequence``/``predictor``.
"""

from actors.crypto.errors import (
    ArtifactError,
    CryptoError,
    CsvFormatError,
    FeedUnavailableError,
    InsufficientDataError,
    InvalidHorizonError,
    InvalidIntervalError,
    UnknownSymbolError,
)

__all__ = [
    "ArtifactError",
    "CryptoError",
    "CsvFormatError",
    "FeedUnavailableError",
    "InsufficientDataError",
    "InvalidHorizonError",
    "InvalidIntervalError",
    "UnknownSymbolError",
]
