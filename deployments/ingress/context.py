"""Everything the routes of one ingress replica share, built once at start-up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from config.settings import Settings
from deployments.ingress.auth import AuthService
from deployments.ingress.errors import ApiError
from deployments.ingress.metrics import IngressMetrics
from deployments.ingress.services import ServiceClient
from storage.records.audit import AuditLog
from storage.records.jobs import Jobs
from storage.stores import Stores


@dataclass
class IngressContext:
    settings: Settings
    stores: Stores
    services: Mapping[str, ServiceClient]
    metrics: IngressMetrics = field(default_factory=IngressMetrics)

    def __post_init__(self) -> None:
        self.auth = AuthService(self.settings, self.stores.database, self.stores.cache)
        self.audit = AuditLog(self.stores.database)
        self.jobs = Jobs(self.stores.database)

    async def call(
        self,
        name: str,
        method: str,
        *args: Any,
        translate: Callable[[Exception], ApiError | None],
        **kwargs: Any,
    ) -> Any:
        """`method` of service `name`; an error that `translate` maps (a domain error the
        client caused) is raised as that `ApiError`, anything else propagates."""
        try:
            return await self.service(name).call(method, *args, **kwargs)
        except Exception as exc:
            mapped = translate(exc)
            if mapped is None:
                raise
            raise mapped from None

    def service(self, name: str) -> ServiceClient:
        client = self.services.get(name)
        if client is None:
            raise ApiError(503, f"the {name} service is not deployed")
        return client
