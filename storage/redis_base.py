"""What the Redis backends (cache, event bus) share: the client built from a URL with
an optional key prefix, closing, the health check, and connection failures mapped to
`StoreUnavailableError`.

URL format: ``redis://host:6379/0`` (``rediss://`` for TLS); an optional
``?prefix=NAME:`` puts every key under a namespace (the tests use it for isolation).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, Self, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.errors import StoreUnavailableError

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)

P = ParamSpec("P")
R = TypeVar("R")


def translated(method: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``method`` with a lost Redis raised as `StoreUnavailableError`."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except UNAVAILABLE as exc:
            raise StoreUnavailableError(f"Redis unreachable: {exc}") from exc

    return wrapper


def split_prefix(url: str) -> tuple[str, str]:
    """(url without ``prefix``, prefix)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    prefix = query.pop("prefix", "")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")), prefix


class RedisBacked:
    def __init__(self, client: Any, prefix: str = "") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> Self:
        base, prefix = split_prefix(url)
        return cls(aioredis.from_url(base, socket_timeout=5, socket_connect_timeout=3), prefix)

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> None:
        await self._call(self._redis.ping())

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except UNAVAILABLE as exc:
            raise StoreUnavailableError(f"Redis unreachable: {exc}") from exc
