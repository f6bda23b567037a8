"""How the suite's workloads share a Ray node: the resource model.

Every node offers two pools, and every piece of work asks for exactly one of them:

- ``CPU`` (logical CPUs, one per core) is the **serving pool**. Serve replicas reserve
  explicit fractions of it (``config/serve.yaml``: 1.05 of 2 at minimum scale, 1.85 at
  maximum), and nothing else may take it, so autoscaling always finds room.
- ``batch`` (a custom resource, :data:`BATCH_SLOTS_PER_CPU` slots per core) is the **batch
  pool**: each batch OCR actor and each Tune trial takes one slot, and none of them asks for a
  logical CPU. Two slots per core let two batch workloads (say batch OCR and a Tune run)
  progress side by side on a 2-core node instead of one waiting for the other to end.
- ``batch_tasks`` (:data:`BATCH_TASKS_PER_CPU` per core, on the nodes that hold batch slots)
  is the batch pool's **task lane**: short tasks (a Ray Data read, a bootstrap step) take one
  of these, never a slot. Actors live long and can fill every slot of a node (when a node
  dies, Ray restarts its actors on the survivors); a read task that must run again then (its
  output block died with the node, and Ray reconstructs it from lineage) still finds room in
  its own lane, where with one shared pool the batch waited forever.

Actors that hold the embedded stores' state live on the head node (:func:`on_head_node`),
beside the Serve controller and proxy: a worker node may die without taking the suite's state
with it. Logical resources are bookkeeping; the cores themselves are shared by the kernel. Batch
processes lower their priority (:data:`BATCH_NICE`), so a request is served first and batch
work fills the idle time. Ray job drivers ask for nothing (``entrypoint_num_cpus`` 0).

A cluster started without the ``batch`` resource (someone else's) still runs batch work:
:func:`batch_options` then asks for :data:`FALLBACK_CPU_PER_SLOT` logical CPUs per slot.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

BATCH = "batch"
"""The custom resource of the batch pool."""
BATCH_SLOTS_PER_CPU = 2.0
BATCH_NICE = 10
"""Niceness of batch processes (OCR actors, Tune trials): the kernel serves requests first."""

ACTOR_SLOTS = 1.0
"""One batch OCR actor or one Tune trial."""
BATCH_TASKS = "batch_tasks"
"""The custom resource of the batch pool's task lane."""
BATCH_TASKS_PER_CPU = 4.0
FALLBACK_CPU_PER_SLOT = 0.25
FALLBACK_CPU_PER_TASK = 0.025

HEAD_NODE = "node:__internal_head__"
"""Ray's built-in resource of the head node."""


def on_head_node() -> dict[str, Any]:
    """Ray options that place an actor on the head node: state that lives in one process
    (the embedded stores' owners, the market feed) must not die with a worker node."""
    return {"resources": {HEAD_NODE: 0.001}}


def node_resources(num_cpus: float) -> dict[str, float]:
    """The custom resources a node with ``num_cpus`` logical CPUs declares (``ray start
    --resources``, ``ray.init(resources=...)``, KubeRay's ``rayStartParams``)."""
    slots = round(num_cpus * BATCH_SLOTS_PER_CPU, 3)
    if slots <= 0:
        return {}
    return {BATCH: slots, BATCH_TASKS: round(num_cpus * BATCH_TASKS_PER_CPU, 3)}


def batch_options(slots: float, cluster: Mapping[str, float]) -> dict[str, Any]:
    """Ray options (``num_cpus`` + ``resources``) for a batch actor of ``slots`` slots on a
    cluster whose total resources are ``cluster`` (``ray.cluster_resources()``)."""
    if cluster.get(BATCH, 0) > 0:
        return {"num_cpus": 0, "resources": {BATCH: slots}}
    return {"num_cpus": round(slots * FALLBACK_CPU_PER_SLOT, 4)}


def batch_task_options(cluster: Mapping[str, float]) -> dict[str, Any]:
    """Ray options for one short batch task (a Ray Data read, a bootstrap step): one unit of
    the task lane, or :data:`FALLBACK_CPU_PER_TASK` CPUs on a cluster without it."""
    if cluster.get(BATCH_TASKS, 0) > 0:
        return {"num_cpus": 0, "resources": {BATCH_TASKS: 1.0}}
    return {"num_cpus": FALLBACK_CPU_PER_TASK}


def batch_slots(cluster: Mapping[str, float]) -> float:
    """Batch slots of the whole cluster (its fallback CPUs when it has no batch pool)."""
    if cluster.get(BATCH, 0) > 0:
        return float(cluster[BATCH])
    return float(cluster.get("CPU", 0)) / FALLBACK_CPU_PER_SLOT


def lower_priority() -> None:
    """Make this process a batch process (idempotent: only raises the niceness once)."""
    with contextlib.suppress(OSError):
        current = os.getpriority(os.PRIO_PROCESS, 0)
        if current < BATCH_NICE:
            os.setpriority(os.PRIO_PROCESS, 0, BATCH_NICE)
