"""How the ingress reaches the model deployments: through a Serve deployment handle,
or (bare FastAPI, tests, benchmarks) an object in this process with the same methods."""

from __future__ import annotations

import inspect
from typing import Any, Protocol


class ServiceClient(Protocol):
    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        ...


class HandleClient:
    """Calls a Serve deployment through its `DeploymentHandle`. An exception raised in the
    replica is re-raised here as itself (Ray delivers it wrapped in a `RayTaskError` whose
    text is a traceback), so callers see the same errors as with `LocalClient`."""

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


class LocalClient:
    """Calls the same deployment class instantiated in this process."""

    def __init__(self, target: Any) -> None:
        self._target = target

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self._target, method)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result
