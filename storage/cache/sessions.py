"""Server-side sessions on the Cache kind: JSON documents under a random id that
expire after `ttl_s` of inactivity."""

from __future__ import annotations

import secrets
from typing import Any

from storage.cache.base import Cache


class SessionStore:
    def __init__(self, cache: Cache, ttl_s: float) -> None:
        self._cache = cache
        self._ttl_s = ttl_s

    async def create(self, data: dict[str, Any]) -> str:
        session_id = secrets.token_urlsafe(32)
        await self._cache.set_json(f"session:{session_id}", data, self._ttl_s)
        return session_id

    async def load(self, session_id: str) -> dict[str, Any] | None:
        """The session's data (renewing its expiry), or None when absent or expired."""
        data = await self._cache.get_json(f"session:{session_id}")
        if data is not None:
            await self._cache.set_json(f"session:{session_id}", data, self._ttl_s)
        return data

    async def destroy(self, session_id: str) -> bool:
        return await self._cache.delete(f"session:{session_id}")
