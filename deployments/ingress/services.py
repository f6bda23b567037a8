"""How the ingress reaches the model deployments: through a Serve deployment handle,
or (bare FastAPI, tests, benchmarks) an object in this process with the same methods."""

from __future__ import annotations

import inspect
from typing import Any, Protocol


class ServiceClient(Protocol):
    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        ...


class HandleClient:
    """Calls a Serve deployment through its `DeploymentHandle`."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await getattr(self._handle, method).remote(*args, **kwargs)


class LocalClient:
    """Calls the same deployment class instantiated in this process."""

    def __init__(self, target: Any) -> None:
        self._target = target

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self._target, method)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result
