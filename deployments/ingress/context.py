"""Everything the routes of one ingress replica share, built once at start-up: settings,
stores, auth, audit, jobs, and a typed client per service (``ctx.ocr.submit(...)``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from config.settings import Settings
from deployments.analytics.client import AnalyticsClient
from deployments.crypto.client import CryptoClient
from deployments.echo.client import EchoClient
from deployments.ingress.auth import AuthService
from deployments.ingress.errors import ApiError
from deployments.ingress.metrics import IngressMetrics
from deployments.ingress.services import ServiceClient, Transport
from deployments.ocr.client import OcrClient
from storage.records.audit import AuditLog, AuditOutbox, DurableAudit
from storage.records.jobs import Jobs
from storage.stores import Stores

C = TypeVar("C", bound=ServiceClient)


class _Service(Generic[C]):
    """``ctx.<name>``: the typed client of a service (`IngressContext.client`)."""

    def __init__(self, kind: type[C]) -> None:
        self.kind = kind

    def __get__(self, ctx: IngressContext, owner: type | None = None) -> C:
        return ctx.client(self.kind)


@dataclass
class IngressContext:
    settings: Settings
    stores: Stores
    services: Mapping[str, Transport]
    """How to reach each deployed service, by its name (`ServiceClient.name`)."""
    metrics: IngressMetrics = field(default_factory=IngressMetrics)

    def __post_init__(self) -> None:
        self.auth = AuthService(self.settings, self.stores.database, self.stores.cache,
                                self.stores.eventbus)
        self.audit = AuditLog(self.stores.database)
        self.audit_writer = DurableAudit(
            self.audit, AuditOutbox(self.settings.data_dir / "audit-outbox"),
            self.settings.audit_retry_s,
        )
        self.jobs = Jobs(self.stores.database)
        self._clients: dict[str, ServiceClient] = {}

    echo = _Service(EchoClient)
    analytics = _Service(AnalyticsClient)
    crypto = _Service(CryptoClient)
    ocr = _Service(OcrClient)

    def client(self, kind: type[C]) -> C:
        """The client of service ``kind.name``; 503 when that service is not deployed."""
        client = self._clients.get(kind.name)
        if not isinstance(client, kind):
            transport = self.services.get(kind.name)
            if transport is None:
                raise ApiError(503, f"the {kind.name} service is not deployed")
            client = self._clients[kind.name] = kind(transport)
        return client
