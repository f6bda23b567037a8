"""What every store has in common: an explicit life cycle and a health check."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Store(ABC):
    """A connection to one backend. `connect()` before use, `close()` after."""

    async def connect(self) -> None:  # noqa: B027 - most backends connect lazily
        """Open connections / create schema. Idempotent."""

    async def close(self) -> None:  # noqa: B027
        """Release connections. Idempotent."""

    @abstractmethod
    async def ping(self) -> None:
        """Return when the backend answers; raise `StoreUnavailableError` otherwise."""
