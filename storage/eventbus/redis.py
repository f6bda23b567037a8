"""EventBus on Redis: PUBLISH/SUBSCRIBE for events, Streams with a consumer group for
the task queue (XREADGROUP to claim, XAUTOCLAIM to take over expired leases, XACK+XDEL
to finish; XCLAIM JUSTID by the current owner resets the idle time to extend a lease, or
sets it past any lease to release the task).

URL format: see `storage.redis_base`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from redis.exceptions import ResponseError

from storage.eventbus.base import EventBus, Message, Subscription, Task
from storage.redis_base import RedisBacked, translated

_GROUP = "workers"
_UNRECORDED_LEASE_MS = 60_000
_SCAN = 100  # pending entries examined per claim for an expired lease
_RELEASED_IDLE_MS = 10 * 365 * 86_400_000
"""The idle time `release` gives an entry: longer than any lease (and shorter than the
Unix time in ms, which XCLAIM's IDLE must stay below)."""


class _RedisSubscription(Subscription):
    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    @translated
    async def get(self, timeout_s: float) -> Message | None:
        # get_message returns None for consumed control messages (subscribe
        # confirmations) too, so keep reading until a message or the deadline.
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            raw = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if raw is not None:
                return json.loads(raw["data"])
        return None


class RedisEventBus(RedisBacked, EventBus):
    def __init__(self, client: Any, prefix: str = "") -> None:
        super().__init__(client, prefix)
        self._groups: set[str] = set()

    async def publish(self, channel: str, message: Message) -> None:
        await self._call(self._redis.publish(self._prefix + "ch:" + channel, json.dumps(message)))

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        @asynccontextmanager
        async def opened() -> AsyncIterator[Subscription]:
            pubsub = self._redis.pubsub()
            await self._call(pubsub.subscribe(self._prefix + "ch:" + channel))
            try:
                yield _RedisSubscription(pubsub)
            finally:
                await pubsub.unsubscribe()
                await pubsub.aclose()

        return opened()

    def _stream(self, queue: str) -> str:
        return self._prefix + "queue:" + queue

    async def _ensure_group(self, stream: str) -> None:
        if stream in self._groups:
            return
        try:
            await self._redis.xgroup_create(stream, _GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(stream)

    @translated
    async def enqueue(self, queue: str, payload: dict[str, Any]) -> str:
        stream = self._stream(queue)
        await self._ensure_group(stream)
        task_id = await self._redis.xadd(stream, {"payload": json.dumps(payload)})
        return task_id.decode() if isinstance(task_id, bytes) else str(task_id)

    @translated
    async def claim(self, queue: str, consumer: str, lease_s: float) -> Task | None:
        try:
            return await self._claim(queue, consumer, lease_s)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis came back without its data (no persistence): make the group again
            # instead of failing every claim until this process restarts.
            self._groups.discard(self._stream(queue))
            return await self._claim(queue, consumer, lease_s)

    async def _claim(self, queue: str, consumer: str, lease_s: float) -> Task | None:
        stream = self._stream(queue)
        await self._ensure_group(stream)
        leases = stream + ":leases"
        entry = await self._take_expired(stream, leases, consumer)
        if entry is None:
            response = await self._redis.xreadgroup(_GROUP, consumer, {stream: ">"}, count=1)
            if not response or not response[0][1]:
                return None
            entry = response[0][1][0]
        entry_id, fields = entry
        entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        await self._redis.hset(leases, entry_id, max(1, int(lease_s * 1000)))
        info = await self._redis.xpending_range(stream, _GROUP, entry_id, entry_id, 1)
        attempts = int(info[0]["times_delivered"]) if info else 1
        return Task(entry_id, queue, json.loads(fields[b"payload"]), attempts)

    async def _take_expired(self, stream: str, leases: str, consumer: str) -> Any:
        """Claim the oldest delivered-but-unacked entry whose own lease (set by the
        consumer that last claimed it) has run out; XCLAIM's min-idle makes it atomic."""
        for pending in await self._redis.xpending_range(stream, _GROUP, "-", "+", _SCAN):
            entry_id = pending["message_id"]
            # No lease recorded yet: just delivered, its consumer is about to record it.
            lease_ms = int(await self._redis.hget(leases, entry_id) or _UNRECORDED_LEASE_MS)
            if pending["time_since_delivered"] < lease_ms:
                continue
            claimed = await self._redis.xclaim(
                stream, _GROUP, consumer, min_idle_time=lease_ms, message_ids=[entry_id]
            )
            if claimed and claimed[0][1]:
                return claimed[0]
        return None

    @translated
    async def ack(self, task: Task) -> None:
        stream = self._stream(task.queue)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(stream, _GROUP, task.id)
            pipe.xdel(stream, task.id)
            pipe.hdel(stream + ":leases", task.id)
            await pipe.execute()

    async def _held(self, stream: str, task: Task) -> Any:
        """The pending-entry info of this delivery of `task`, or None when it was acked,
        delivered again since, or released."""
        info = await self._redis.xpending_range(stream, _GROUP, task.id, task.id, 1)
        if not info or int(info[0]["times_delivered"]) != task.attempts:
            return None  # acked, or delivered again since this delivery
        if int(info[0]["time_since_delivered"]) >= _RELEASED_IDLE_MS:
            return None  # released by its worker, not claimed again yet
        return info[0]

    async def _reset_idle(self, stream: str, task: Task, held: Any, idle_ms: int) -> bool:
        """Set the idle time of the entry, as its owner, without counting a delivery
        (JUSTID). The min-idle of what was just read makes it fail if another consumer
        claimed the entry in between (that claim reset the idle time below it)."""
        claimed = await self._redis.xclaim(
            stream, _GROUP, held["consumer"], min_idle_time=int(held["time_since_delivered"]),
            message_ids=[task.id], idle=idle_ms, justid=True,
        )
        return bool(claimed)

    @translated
    async def extend(self, task: Task, lease_s: float) -> bool:
        stream = self._stream(task.queue)
        held = await self._held(stream, task)
        if held is None:
            return False
        await self._redis.hset(stream + ":leases", task.id, max(1, int(lease_s * 1000)))
        return await self._reset_idle(stream, task, held, 0)

    @translated
    async def release(self, task: Task) -> bool:
        # An idle time far past any lease: the next claim takes the entry over at once
        # (`_take_expired`), and only one claim can (it resets the idle time).
        stream = self._stream(task.queue)
        held = await self._held(stream, task)
        return held is not None and await self._reset_idle(stream, task, held, _RELEASED_IDLE_MS)

    @translated
    async def pending(self, queue: str) -> int:
        return int(await self._redis.xlen(self._stream(queue)))
