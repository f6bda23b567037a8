"""The crypto service's errors and their HTTP statuses.

Errors of the request (unknown symbol, bad horizon, unreadable CSV) are the
:class:`actors.crypto.errors.CryptoError` family; the service's own state (no model yet,
model too old, no candles) is :class:`CryptoServiceError`. An unknown symbol is a 404 where
the symbol is in the path (:data:`CRYPTO_ERRORS`), a 422 where it is in the body
(:data:`CRYPTO_BODY_ERRORS`).
"""

from __future__ import annotations

from actors.crypto.errors import CryptoError, UnknownSymbolError
from deployments.status import JOB_ERRORS, ErrorTable, Status


class CryptoServiceError(Exception):
    """The service cannot answer now."""


class NoModelError(CryptoServiceError):
    """No model registered under the name (or its pinned version is not)."""


class ModelTrainingError(CryptoServiceError):
    """No model yet, but a training job for it is running."""


class StaleModelError(CryptoServiceError):
    """The served model was registered longer ago than ``max_model_age_s``."""


class ModelLoadError(CryptoServiceError):
    """The registered artifact cannot be loaded (or its computation was cancelled)."""


class NoCandlesError(CryptoServiceError):
    """Too few stored candles to forecast from."""


CRYPTO_ERRORS: ErrorTable = {
    CryptoServiceError: Status(503),
    NoModelError: Status(404),
    NoCandlesError: Status(404),
    ModelTrainingError: Status(503, retry_after_s=30),
    ModelLoadError: Status(503, retry_after_s=10),
    StaleModelError: Status(503),
    CryptoError: Status(422),
    UnknownSymbolError: Status(404),
    **JOB_ERRORS,
}
CRYPTO_BODY_ERRORS: ErrorTable = {**CRYPTO_ERRORS, UnknownSymbolError: Status(422)}
