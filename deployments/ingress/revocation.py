"""Token revocation as the ingress sees it: the deny entries on the Cache kind
(``revoked:jti:<jti>``: that token; ``revoked:user:<id>`` = epoch seconds: every token of
that user issued up to then), read through a replica-local copy.

Why a copy: the lookup is on every authenticated request, and with the embedded stores
it is a call to another process. The copy keeps what the store said about a token's two
keys for at most ``max_age_s`` (the ``revocation_max_age_s`` setting), and every
revocation is also published on the EventBus (`CHANNEL`), which every replica applies
to its copy as it arrives. So a revoked token is refused by every replica as soon as the
message arrives and, should it be lost (pub/sub is at most once), within ``max_age_s`` of
the revocation at the latest: an entry older than that is read from the store again.
``max_age_s = 0`` reads the store on every request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from storage.cache.base import Cache
from storage.eventbus.base import EventBus

CHANNEL = "auth.revocations"
log = logging.getLogger("armillary.revocation")


def jti_key(jti: str) -> str:
    return f"revoked:jti:{jti}"


def user_key(user_id: str) -> str:
    return f"revoked:user:{user_id}"


class Revocations:
    def __init__(self, cache: Cache, eventbus: EventBus, max_age_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._cache = cache
        self._bus = eventbus
        self.max_age_s = max_age_s
        self._clock = clock
        self._known: dict[str, tuple[bytes | None, float]] = {}
        """key -> (value in the store, monotonic time just before it was read)"""
        self._reads: dict[tuple[str, str], asyncio.Future[list[bytes | None]]] = {}

    async def lookup(self, jti: str, user_id: str) -> tuple[bytes | None, bytes | None]:
        """The store's values of the token's two deny keys, as of at most `max_age_s` ago
        (or newer: published revocations are applied on arrival)."""
        keys = (jti_key(jti), user_key(user_id))
        now = self._clock()
        held = [self._known.get(k) for k in keys]
        if all(h is not None and now - h[1] < self.max_age_s for h in held):
            return held[0][0], held[1][0]  # type: ignore[index]
        values = await self._read(keys)
        return values[0], values[1]

    async def _read(self, keys: tuple[str, str]) -> list[bytes | None]:
        """One store read per pair of keys at a time: concurrent requests of the same
        token share it."""
        pending = self._reads.get(keys)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[list[bytes | None]] = asyncio.get_running_loop().create_future()
        self._reads[keys] = future
        try:
            started = self._clock()
            values = await self._cache.get_many(list(keys))
            if self.max_age_s > 0:
                if len(self._known) > 100_000:
                    self._forget_stale(started)
                for key, value in zip(keys, values, strict=True):
                    self._remember(key, value, started)
            future.set_result(values)
            return values
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when unshared
            raise
        finally:
            del self._reads[keys]

    def _remember(self, key: str, value: bytes | None, read_at: float) -> None:
        held = self._known.get(key)
        if held is not None and held[1] > read_at:
            return  # newer news (a later read, a published revocation) stays
        self._known[key] = (value, read_at)

    def _forget_stale(self, now: float) -> None:
        for key in [k for k, (_, at) in self._known.items() if now - at >= self.max_age_s]:
            del self._known[key]

    async def revoke_token(self, jti: str, ttl_s: float) -> None:
        await self._deny(jti_key(jti), b"1", ttl_s)

    async def revoke_user(self, user_id: str, ttl_s: float) -> None:
        """Deny every token of the user issued up to now."""
        await self._deny(user_key(user_id), str(time.time()).encode(), ttl_s)

    async def _deny(self, key: str, value: bytes, ttl_s: float) -> None:
        await self._cache.set(key, value, ttl_s)
        self.apply({"key": key, "value": value.decode()})
        try:
            await self._bus.publish(CHANNEL, {"key": key, "value": value.decode()})
        except Exception:
            # the store holds the entry: other replicas see it within max_age_s
            log.warning("could not publish the revocation of %s", key, exc_info=True)

    def apply(self, message: dict[str, object]) -> None:
        """A revocation published by any replica (this one included)."""
        key, value = message.get("key"), message.get("value")
        if isinstance(key, str) and key.startswith("revoked:") and isinstance(value, str):
            self._known[key] = (value.encode(), self._clock())

    async def listen(self, retry_s: float = 1.0, max_retry_s: float = 5.0) -> None:
        """Apply published revocations until cancelled, subscribing again after a failure
        (backing off to `max_retry_s`; one warning per outage). While unsubscribed the
        max-age bound still holds."""
        delay = retry_s
        while True:
            try:
                async with self._bus.subscribe(CHANNEL) as subscription:
                    if delay > retry_s:
                        log.info("revocation subscription restored")
                    delay = retry_s
                    while True:
                        message = await subscription.get(timeout_s=30.0)
                        if message is not None:
                            self.apply(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if delay == retry_s:
                    log.warning("revocation subscription lost (%s); revoked tokens are "
                                "refused within %.3g s through the store meanwhile",
                                exc, self.max_age_s)
                await asyncio.sleep(delay)
                delay = min(max_retry_s, delay * 2)
