"""The resource model (`config.workloads`): what a node declares, what batch work asks for,
and the rule that batch actors can never starve the short tasks they depend on."""

from __future__ import annotations

from typing import Any

import pytest

from config.workloads import (
    ACTOR_SLOTS,
    BATCH,
    BATCH_TASKS,
    FALLBACK_CPU_PER_SLOT,
    batch_options,
    batch_task_options,
    node_resources,
)


def test_a_node_declares_slots_and_a_task_lane_per_cpu() -> None:
    assert node_resources(2) == {BATCH: 4.0, BATCH_TASKS: 8.0}
    assert node_resources(0) == {}  # a head that keeps no batch work


def test_batch_work_never_asks_for_a_serving_cpu_on_a_suite_cluster() -> None:
    cluster = {"CPU": 2.0, **node_resources(2)}
    assert batch_options(ACTOR_SLOTS, cluster) == {"num_cpus": 0, "resources": {BATCH: 1.0}}
    assert batch_task_options(cluster) == {"num_cpus": 0, "resources": {BATCH_TASKS: 1.0}}
    # someone else's cluster, without the pool: fractions of CPUs instead
    assert batch_options(2, {"CPU": 8.0}) == {"num_cpus": 2 * FALLBACK_CPU_PER_SLOT}
    assert batch_task_options({"CPU": 8.0})["num_cpus"] < FALLBACK_CPU_PER_SLOT


@pytest.mark.ray
def test_a_task_runs_while_batch_actors_hold_every_slot(ray_session: Any) -> None:
    """After a node dies, Ray restarts its batch actors on the survivors and they may hold
    every slot there; the read tasks Ray re-runs to rebuild lost blocks must still run."""
    ray = ray_session
    cluster = ray.cluster_resources()

    @ray.remote
    class Holder:
        def ready(self) -> bool:
            return True

    @ray.remote
    def short_task() -> str:
        return "ran"

    holders = [Holder.options(**batch_options(ACTOR_SLOTS, cluster)).remote()
               for _ in range(int(cluster[BATCH] / ACTOR_SLOTS))]
    try:
        assert all(ray.get([h.ready.remote() for h in holders], timeout=120))
        assert ray.available_resources().get(BATCH, 0) < ACTOR_SLOTS  # the pool is full
        done = short_task.options(**batch_task_options(cluster)).remote()
        assert ray.get(done, timeout=60) == "ran"
    finally:
        for holder in holders:
            ray.kill(holder)
