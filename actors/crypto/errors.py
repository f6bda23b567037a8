"""Typed errors of the crypto domain. Each one is a ``CryptoError`` (a ``ValueError``), so a
caller can map the whole family to an HTTP 4xx and the subclasses to finer messages."""

from __future__ import annotations


class CryptoError(ValueError):
    """Base class: bad input to the crypto logic (the caller's fault, not ours)."""


class UnknownSymbolError(CryptoError):
    """The trading pair is not one this component knows or the artifact was trained on."""


class InvalidHorizonError(CryptoError):
    """The forecast horizon is not a positive whole number of candles within the limit."""


class InvalidIntervalError(CryptoError):
    """The candle interval string cannot be understood (e.g. ``"7x"``)."""


class CsvFormatError(CryptoError):
    """An OHLCV file that cannot be read: missing columns, no parseable rows, too much junk."""


class InsufficientDataError(CryptoError):
    """Too few (clean) candles for the requested features, window, or evaluation."""


class ArtifactError(CryptoError):
    """A model artifact directory that is missing files or has unreadable metadata."""


class FeedUnavailableError(CryptoError):
    """A live market feed was requested but no network/exchange is configured."""
