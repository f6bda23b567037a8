"""What the routes call on the crypto service
(:class:`deployments.crypto.service.CryptoService`). Where the symbol comes in the request
body rather than the path, an unknown symbol is a 422 (:data:`CRYPTO_BODY_ERRORS`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from deployments.crypto.config import HISTORY_MAX_LIMIT, INGRESS_TTL
from deployments.crypto.errors import CRYPTO_BODY_ERRORS, CRYPTO_ERRORS
from deployments.ingress.services import ServiceClient

__all__ = ["HISTORY_MAX_LIMIT", "CryptoClient", "Prediction"]


class Prediction(NamedTuple):
    answer: dict[str, Any]
    ingress_ttl_s: float
    """How long the ingress may answer the same request with ``answer`` (0: not at all)."""


class CryptoClient(ServiceClient):
    name = "crypto"
    errors = CRYPTO_ERRORS

    async def predict(self, symbol: str, horizon: object | None = None) -> Prediction:
        answer = dict(await self._call("predict", symbol, horizon))
        return Prediction(answer, float(answer.pop(INGRESS_TTL, 0.0) or 0.0))

    async def backtest(self, symbol: str, horizon: object | None = None) -> dict[str, Any]:
        return dict(await self._call("backtest", symbol, horizon))

    async def history(self, symbol: str, horizon: object | None = None,
                      limit: int = 200) -> dict[str, Any]:
        return dict(await self._call("history", symbol, horizon, limit))

    async def import_candles(self, data: bytes, symbol: str | None = None,
                             interval: str | None = None,
                             filename: str | None = None) -> dict[str, Any]:
        return dict(await self._call("import_candles", data, symbol, interval, filename,
                                     table=CRYPTO_BODY_ERRORS))

    async def add_sentiment(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return dict(await self._call("add_sentiment", items, table=CRYPTO_BODY_ERRORS))

    async def watch(self, symbol: str) -> dict[str, Any]:
        return dict(await self._call("watch", symbol))
