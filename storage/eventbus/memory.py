"""EventBus in this process's memory — the embedded default.

URL format: ``memory://NAME``. Under Ray one actor owns it (`storage.hosted`); remote
subscribers read the channel log with `read_after`, which waits for new messages.
Tasks survive as long as the owning process (the actor) does.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from storage.eventbus.base import EventBus, Message, Subscription, Task

_LOG_SIZE = 10_000


@dataclass
class _Channel:
    log: deque[tuple[int, Message]] = field(default_factory=lambda: deque(maxlen=_LOG_SIZE))
    last_seq: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


@dataclass
class _Queue:
    ready: deque[Task] = field(default_factory=deque)
    leased: dict[str, tuple[Task, float]] = field(default_factory=dict)


class CursorSubscription(Subscription):
    """A subscription that reads a channel log by sequence number: used in-process and,
    through the owning actor, from other processes."""

    def __init__(self, bus: Any, channel: str, cursor: int) -> None:
        self._bus = bus
        self._channel = channel
        self._cursor = cursor
        self._buffer: deque[Message] = deque()

    async def get(self, timeout_s: float) -> Message | None:
        if not self._buffer:
            messages, self._cursor = await self._bus.read_after(
                self._channel, self._cursor, timeout_s
            )
            self._buffer.extend(messages)
        return self._buffer.popleft() if self._buffer else None


class MemoryEventBus(EventBus):
    def __init__(self) -> None:
        self._channels: dict[str, _Channel] = {}
        self._queues: dict[str, _Queue] = {}

    @classmethod
    def from_url(cls, url: str) -> MemoryEventBus:
        return cls()

    async def ping(self) -> None:
        return None

    def _channel(self, name: str) -> _Channel:
        return self._channels.setdefault(name, _Channel())

    async def publish(self, channel: str, message: Message) -> None:
        ch = self._channel(channel)
        async with ch.changed:
            ch.last_seq += 1
            ch.log.append((ch.last_seq, message))
            ch.changed.notify_all()

    async def head(self, channel: str) -> int:
        return self._channel(channel).last_seq

    async def read_after(
        self, channel: str, cursor: int, timeout_s: float
    ) -> tuple[list[Message], int]:
        """Messages with sequence > cursor (waiting up to `timeout_s` for one), and the
        new cursor."""
        ch = self._channel(channel)
        async with ch.changed:
            if ch.last_seq <= cursor:
                try:
                    await asyncio.wait_for(
                        ch.changed.wait_for(lambda: ch.last_seq > cursor), timeout_s
                    )
                except TimeoutError:
                    return [], cursor
            messages = [m for seq, m in ch.log if seq > cursor]
            return messages, ch.last_seq

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        @asynccontextmanager
        async def opened() -> AsyncIterator[Subscription]:
            yield CursorSubscription(self, channel, await self.head(channel))

        return opened()

    def _queue(self, name: str) -> _Queue:
        queue = self._queues.setdefault(name, _Queue())
        now = time.monotonic()
        for task_id, (task, deadline) in list(queue.leased.items()):
            if deadline <= now:
                del queue.leased[task_id]
                queue.ready.appendleft(task)
        return queue

    async def enqueue(self, queue: str, payload: dict[str, Any]) -> str:
        task = Task(uuid.uuid4().hex, queue, dict(payload), 0)
        self._queue(queue).ready.append(task)
        return task.id

    async def claim(self, queue: str, consumer: str, lease_s: float) -> Task | None:
        q = self._queue(queue)
        if not q.ready:
            return None
        task = q.ready.popleft()
        delivered = Task(task.id, task.queue, task.payload, task.attempts + 1)
        q.leased[task.id] = (delivered, time.monotonic() + lease_s)
        return delivered

    async def ack(self, task: Task) -> None:
        self._queue(task.queue).leased.pop(task.id, None)

    async def extend(self, task: Task, lease_s: float) -> bool:
        q = self._queues.setdefault(task.queue, _Queue())
        held = q.leased.get(task.id)
        if held is None or held[0].attempts != task.attempts:
            return False
        q.leased[task.id] = (held[0], time.monotonic() + lease_s)
        return True

    async def release(self, task: Task) -> bool:
        q = self._queues.setdefault(task.queue, _Queue())
        held = q.leased.get(task.id)
        if held is None or held[0].attempts != task.attempts:
            return False
        del q.leased[task.id]
        q.ready.appendleft(held[0])  # the next claim takes it
        return True

    async def pending(self, queue: str) -> int:
        q = self._queue(queue)
        return len(q.ready) + len(q.leased)
