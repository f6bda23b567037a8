"""The typed clients the routes call (``deployments/<name>/client.py``) against the services
they reach: every client method names a method of its service, with the same parameters in
the same order (a call through a Serve handle is by name and position, unchecked), and a
domain error becomes an `ApiError` with the status of the service's error table, in the
client."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from deployments.analytics.client import AnalyticsClient
from deployments.analytics.errors import UnknownReportError
from deployments.analytics.service import AnalyticsService
from deployments.crypto.client import CryptoClient
from deployments.crypto.errors import ModelTrainingError
from deployments.crypto.service import CryptoService
from deployments.echo.client import EchoClient
from deployments.echo.service import Echo
from deployments.ingress.errors import ApiError
from deployments.ingress.services import LocalTransport, ServiceClient
from deployments.ocr.client import OcrClient
from deployments.ocr.service import OcrService

PAIRS: list[tuple[type[ServiceClient], type]] = [
    (AnalyticsClient, AnalyticsService), (CryptoClient, CryptoService), (EchoClient, Echo),
    (OcrClient, OcrService),
]


def _parameters(fn: Any) -> list[tuple[str, Any]]:
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()
            if p.name != "self"]


@pytest.mark.parametrize(("client", "service"), PAIRS, ids=lambda c: c.__name__)
def test_client_methods_match_the_service(client: type[ServiceClient], service: type) -> None:
    methods = [n for n, f in vars(client).items() if inspect.iscoroutinefunction(f)
               and not n.startswith("_")]
    assert methods
    for name in methods:
        target = getattr(service, name, None)
        assert target is not None, f"{service.__name__} has no method {name}"
        assert _parameters(getattr(client, name)) == _parameters(target), name


class Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def report_file(self, report_id: str, fmt: str) -> bytes:
        raise self.error

    async def predict(self, symbol: str, horizon: object | None = None) -> dict[str, Any]:
        raise self.error


async def test_client_turns_domain_errors_into_their_status() -> None:
    analytics = AnalyticsClient(LocalTransport(Failing(UnknownReportError("no report 'x'"))))
    with pytest.raises(ApiError) as caught:
        await analytics.report_file("x", "html")
    assert (caught.value.status, caught.value.detail) == (404, "no report 'x'")
    crypto = CryptoClient(LocalTransport(Failing(ModelTrainingError("being trained"))))
    with pytest.raises(ApiError) as caught:
        await crypto.predict("BTC-USDT")
    assert caught.value.status == 503 and caught.value.headers == {"Retry-After": "30"}
    unexpected = CryptoClient(LocalTransport(Failing(RuntimeError("bug"))))
    with pytest.raises(RuntimeError):  # not the client's fault: a 500 from the ingress
        await unexpected.predict("BTC-USDT")
