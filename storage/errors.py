"""Errors every storage backend raises, whatever the technology underneath."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for storage failures."""


class UnsupportedURLError(StorageError, ValueError):
    """A store URL names a scheme no backend of that kind handles."""

    def __init__(self, kind: str, url: str, valid: list[str]) -> None:
        scheme = url.split("://", 1)[0] if "://" in url else "(none)"
        super().__init__(
            f"unsupported {kind} URL scheme {scheme!r} in {redact(url)!r}; "
            f"valid schemes: {', '.join(valid)}"
        )
        self.kind = kind
        self.scheme = scheme
        self.valid = valid


class StoreUnavailableError(StorageError):
    """The backend cannot be reached (server down, connection refused)."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says a store cannot be used now (a 503 and a retry, not a bug):
    `StoreUnavailableError`, or a driver's connection error that reached past a backend
    (asyncpg, Redis, SQLite), a dropped connection or a timeout."""
    import sqlite3

    import asyncpg
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    if isinstance(exc, StoreUnavailableError | ConnectionError | TimeoutError
                  | RedisConnectionError | RedisTimeoutError | asyncpg.InterfaceError
                  | asyncpg.PostgresConnectionError | asyncpg.OperatorInterventionError):
        return True
    return isinstance(exc, sqlite3.OperationalError) and any(
        part in str(exc).lower() for part in ("locked", "unable to open", "disk i/o"))


class ConflictError(StorageError):
    """A uniqueness constraint was violated (e.g. a user name already taken)."""


def redact(url: str) -> str:
    """The URL with any password replaced, safe to log or show."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
