"""How the ingress reaches the services: a transport (a Serve deployment handle, or an
object in this process: bare FastAPI, tests, benchmarks) under a typed client per service
(``deployments/<name>/client.py``, subclasses of :class:`ServiceClient`), which the routes
call as ``ctx.ocr.submit(...)``. The client applies the service's error table
(:mod:`deployments.status`): a domain error the caller caused becomes an `ApiError` with its
status; anything else propagates."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Protocol

from deployments.ingress.errors import ApiError
from deployments.status import ErrorTable, status_of


class Transport(Protocol):
    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        ...


class HandleTransport:
    """Calls a Serve deployment through its `DeploymentHandle`. An exception raised in the
    replica is re-raised here as itself (Ray delivers it wrapped in a `RayTaskError` whose
    text is a traceback), so callers see the same errors as with `LocalTransport`."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        from ray.exceptions import RayTaskError

        try:
            return await getattr(self._handle, method).remote(*args, **kwargs)
        except RayTaskError as exc:
            if isinstance(exc.cause, Exception):
                raise exc.cause from None
            raise


class LocalTransport:
    """Calls the service object itself, in this process."""

    def __init__(self, target: Any) -> None:
        self._target = target

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self._target, method)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result


class ServiceClient:
    """Base of the typed clients: ``name`` is the service's key in the ingress's services
    (the keyword of its handle in `deployments.app`), ``errors`` its error table."""

    name: ClassVar[str]
    errors: ClassVar[ErrorTable]

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def _call(
        self, method: str, *args: Any, table: ErrorTable | None = None, **kwargs: Any
    ) -> Any:
        """``method`` of the service; an error in ``table`` (default: ``errors``) is
        raised as an `ApiError` with its status and message."""
        try:
            return await self._transport.call(method, *args, **kwargs)
        except Exception as exc:
            status = status_of(self.errors if table is None else table, exc)
            if status is None:
                raise
            headers = {"Retry-After": str(status.retry_after_s)} if status.retry_after_s else None
            raise ApiError(status.code, str(exc), headers) from None
