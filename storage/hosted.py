"""Process-bound stores (embedded chDB, in-memory cache and bus) owned by one Ray actor
and reached from every worker process through a proxy with the same methods.

`hosted(kind, url)` gets or creates the detached, named owner actor for that store in
namespace ``armillary`` and returns a proxy; every process that asks for the same URL
reaches the same state.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from storage.registry import Kind, open_backend

NAMESPACE = "armillary"


class StoreOwner:
    """The actor body: holds one backend and runs its methods."""

    def __init__(self, kind: Kind, url: str) -> None:
        self._store = open_backend(kind, url)
        self._connected = False

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if not self._connected:
            await self._store.connect()
            self._connected = True
        return await getattr(self._store, method)(*args, **kwargs)

    async def close_store(self) -> None:
        """Close the backend (an embedded database flushes and lets go of its files)."""
        if self._connected:
            self._connected = False
            await self._store.close()


def owner_name(kind: Kind, url: str) -> str:
    return f"store-{kind}-{hashlib.sha256(url.encode()).hexdigest()[:12]}"


class HostedStore:
    """Forwards every awaited method call to the owner actor. Life cycle calls are
    local: the owner connects itself and outlives any one client."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        async def forward(*args: Any, **kwargs: Any) -> Any:
            return await self._handle.call.remote(method, *args, **kwargs)

        return forward


class HostedEventBus(HostedStore):
    """Subscriptions read the owner's channel log with long polls."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Any]:
        from storage.eventbus.memory import CursorSubscription

        @asynccontextmanager
        async def opened() -> AsyncIterator[Any]:
            yield CursorSubscription(self, channel, await self.head(channel))

        return opened()


def hosted(kind: Kind, url: str) -> Any:
    """A proxy to the actor owning the `kind` store at `url` (created if missing)."""
    import ray

    from config.workloads import on_head_node

    actor_cls = ray.remote(StoreOwner)
    handle = actor_cls.options(
        name=owner_name(kind, url),
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        num_cpus=0,
        max_concurrency=256,
        max_restarts=-1,
        **on_head_node(),
    ).remote(kind, url)
    return HostedEventBus(handle) if kind == "eventbus" else HostedStore(handle)


def stop_owners(kinds_and_urls: list[tuple[Kind, str]]) -> None:
    """Kill the owner actors of these stores (used by `armillary down`)."""
    import ray

    for kind, url in kinds_and_urls:
        try:
            ray.kill(ray.get_actor(owner_name(kind, url), namespace=NAMESPACE))
        except ValueError:
            continue


def close_owners(kinds_and_urls: list[tuple[Kind, str]], timeout_s: float = 2.0) -> list[str]:
    """Close the stores of these owner actors (at most ``timeout_s`` in all), then end the
    actors; returns the names of the owners that did not close in time. `armillary up` does
    this before its cluster stops, so no embedded store is cut off mid-write."""
    import ray

    owners = {}
    for kind, url in kinds_and_urls:
        name = owner_name(kind, url)
        try:
            owners[name] = ray.get_actor(name, namespace=NAMESPACE)
        except ValueError:
            continue
    closing = {owner.close_store.remote(): name for name, owner in owners.items()}
    pending: list[Any] = []
    if closing:
        _, pending = ray.wait(list(closing), num_returns=len(closing), timeout=timeout_s)
    for owner in owners.values():
        ray.kill(owner)
    return sorted(closing[ref] for ref in pending)
