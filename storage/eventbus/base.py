"""The EventBus kind: pub/sub for live events, and a durable task queue that
coordinates workers.

Pub/sub is at-most-once to the subscribers present when a message is published.
The task queue is at-least-once: a claimed task is hidden for its lease; if it is not
acked in time it is delivered again (with `attempts` counting deliveries). A worker on a
long task renews its lease with `extend` (a heartbeat) so that only a dead worker's task
is delivered again; a worker that stops before finishing gives the task back with
`release`, so that it is delivered again at once instead of after the lease.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from storage.base import Store

Message = dict[str, Any]


@dataclass(frozen=True)
class Task:
    id: str
    queue: str
    payload: dict[str, Any]
    attempts: int


class Subscription(ABC):
    """Messages on one channel, published after the subscription started."""

    @abstractmethod
    async def get(self, timeout_s: float) -> Message | None:
        """The next message, or None after `timeout_s` without one."""

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            message = await self.get(timeout_s=30.0)
            if message is not None:
                yield message


class EventBus(Store):
    @abstractmethod
    async def publish(self, channel: str, message: Message) -> None:
        ...

    @abstractmethod
    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        ...

    @abstractmethod
    async def enqueue(self, queue: str, payload: dict[str, Any]) -> str:
        """Add a task; returns its id."""

    @abstractmethod
    async def claim(self, queue: str, consumer: str, lease_s: float) -> Task | None:
        """Take the next task (or one whose lease expired), or None if there is none."""

    @abstractmethod
    async def ack(self, task: Task) -> None:
        """The task is done; it is never delivered again."""

    @abstractmethod
    async def extend(self, task: Task, lease_s: float) -> bool:
        """Renew the lease of this delivery of `task`: hidden for `lease_s` from now.
        False when the task was acked or delivered again since (the caller lost it and
        should stop working on it)."""

    @abstractmethod
    async def release(self, task: Task) -> bool:
        """Give this delivery of `task` back unfinished (its worker stops): the task can
        be claimed again at once, by any consumer, and that delivery counts as another
        attempt. The caller stops working on it: `extend` and `release` of this delivery
        answer False from then on. False, and nothing changes, when the task was acked
        or delivered again since."""

    @abstractmethod
    async def pending(self, queue: str) -> int:
        """Tasks enqueued and not yet acked (claimed or not)."""
