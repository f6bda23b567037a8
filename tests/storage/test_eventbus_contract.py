"""EventBus contract: pub/sub delivery and an at-least-once task queue."""

from __future__ import annotations

import asyncio
from typing import Any


async def test_subscribers_receive_messages_in_order(eventbus: Any) -> None:
    async with eventbus.subscribe("prices") as first, eventbus.subscribe("prices") as second:
        await asyncio.sleep(0.05)  # let the subscription register server-side
        for i in range(3):
            await eventbus.publish("prices", {"n": i})
        for sub in (first, second):
            got = [await sub.get(timeout_s=2) for _ in range(3)]
            assert got == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_channels_are_separate_and_get_times_out(eventbus: Any) -> None:
    async with eventbus.subscribe("a") as sub:
        await asyncio.sleep(0.05)
        await eventbus.publish("b", {"x": 1})
        assert await sub.get(timeout_s=0.2) is None


async def test_waiting_subscriber_is_woken(eventbus: Any) -> None:
    async with eventbus.subscribe("live") as sub:
        await asyncio.sleep(0.05)
        waiter = asyncio.create_task(sub.get(timeout_s=5))
        await asyncio.sleep(0.1)
        await eventbus.publish("live", {"ok": True})
        assert await asyncio.wait_for(waiter, 5) == {"ok": True}


async def test_queue_claim_ack(eventbus: Any) -> None:
    ids = [await eventbus.enqueue("jobs", {"n": i}) for i in range(3)]
    assert len(set(ids)) == 3
    assert await eventbus.pending("jobs") == 3
    seen = []
    while (task := await eventbus.claim("jobs", "w1", lease_s=30)) is not None:
        seen.append(task.payload["n"])
        assert task.attempts == 1
        await eventbus.ack(task)
    assert sorted(seen) == [0, 1, 2]
    assert await eventbus.pending("jobs") == 0


async def test_unacked_task_is_redelivered_after_lease(eventbus: Any) -> None:
    await eventbus.enqueue("work", {"id": "a"})
    first = await eventbus.claim("work", "crashing-worker", lease_s=0.3)
    assert first is not None
    assert await eventbus.claim("work", "other", lease_s=0.3) is None  # leased
    await asyncio.sleep(0.45)
    again = await eventbus.claim("work", "other", lease_s=30)
    assert again is not None and again.payload == {"id": "a"} and again.attempts == 2
    await eventbus.ack(again)
    await asyncio.sleep(0.1)
    assert await eventbus.claim("work", "third", lease_s=0.01) is None


async def test_competing_workers_each_task_once(eventbus: Any) -> None:
    for i in range(20):
        await eventbus.enqueue("fanout", {"i": i})

    async def worker(name: str) -> list[int]:
        done = []
        while (task := await eventbus.claim("fanout", name, lease_s=30)) is not None:
            done.append(task.payload["i"])
            await eventbus.ack(task)
        return done

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    flat = [i for r in results for i in r]
    assert sorted(flat) == list(range(20))


async def test_extended_lease_is_not_redelivered_and_lost_lease_is_reported(
    eventbus: Any
) -> None:
    await eventbus.enqueue("long", {"id": "b"})
    task = await eventbus.claim("long", "slow-worker", lease_s=0.4)
    assert task is not None
    for _ in range(3):  # a heartbeat keeps the task hidden well past its first lease
        await asyncio.sleep(0.2)
        assert await eventbus.extend(task, 0.4) is True
        assert await eventbus.claim("long", "other", lease_s=30) is None
    await asyncio.sleep(0.55)  # the heartbeat stops (the worker died): delivered again
    again = await eventbus.claim("long", "other", lease_s=30)
    assert again is not None and again.attempts == 2
    assert await eventbus.extend(task, 30) is False  # the first delivery lost it
    assert await eventbus.extend(again, 30) is True
    await eventbus.ack(again)
    assert await eventbus.extend(again, 30) is False
    assert await eventbus.pending("long") == 0


async def test_released_task_is_delivered_again_at_once(eventbus: Any) -> None:
    """A worker that stops hands its task back: another one claims it at once (well
    within the lease), as a further attempt; the old delivery is given up."""
    await eventbus.enqueue("handback", {"id": "c"})
    task = await eventbus.claim("handback", "stopping-worker", lease_s=30)
    assert task is not None
    assert await eventbus.claim("handback", "other", lease_s=30) is None  # leased
    assert await eventbus.release(task) is True
    assert await eventbus.pending("handback") == 1
    assert await eventbus.extend(task, 30) is False  # given up
    assert await eventbus.release(task) is False
    again = await eventbus.claim("handback", "other", lease_s=30)
    assert again is not None and again.payload == {"id": "c"} and again.attempts == 2
    assert await eventbus.claim("handback", "third", lease_s=30) is None  # leased again
    assert await eventbus.release(task) is False  # the old delivery changes nothing
    assert await eventbus.extend(again, 30) is True
    await eventbus.ack(again)
    assert await eventbus.release(again) is False
    assert await eventbus.pending("handback") == 0
