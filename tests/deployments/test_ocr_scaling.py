"""Autoscaling of the OCR deployment on requests plus document jobs
(:mod:`deployments.ocr.scaling`): the policy's arithmetic, the deployment's
config as Serve holds it (the pickled policy), the metrics a real service reports, and
the policy and metrics together in a running Serve deployment."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from ray.serve.config import AutoscalingConfig, AutoscalingContext

from config.settings import Settings
from deployments.ocr.jobs import OCR_QUEUE
from deployments.ocr.scaling import JOB_SLOTS, JOBS, ocr_autoscaling_policy
from deployments.ocr.service import OcrService
from tests.deployments.conftest import make_stores

CONFIG = {"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 2}


def context(replicas: int, requests: float, jobs: dict[str, float] | None = None,
            slots: dict[str, float] | None = None, target: int | None = None) -> Any:
    metrics: dict[str, Any] = {name: values for name, values in ((JOBS, jobs), (JOB_SLOTS, slots))
               if values is not None}
    return AutoscalingContext(
        deployment_id=None, deployment_name="Ocr", app_name="armillary",  # type: ignore[arg-type]
        current_num_replicas=replicas, target_num_replicas=target or replicas,
        running_replicas=[], total_num_requests=requests, total_queued_requests=0.0,
        aggregated_metrics=metrics, raw_metrics={}, capacity_adjusted_min_replicas=1,
        capacity_adjusted_max_replicas=8, policy_state={}, last_scale_up_time=None,
        last_scale_down_time=None, current_time=time.time(),
        config=AutoscalingConfig(**CONFIG))


@pytest.mark.parametrize(("replicas", "requests", "jobs", "slots", "desired"), [
    (1, 0.0, None, None, 0.0),          # idle, no metric reported yet
    (1, 3.0, None, None, 1.5),          # requests only: Serve's default arithmetic
    (2, 3.0, None, None, 1.5),
    (1, 0.0, {"r1": 2.0}, {"r1": 2.0}, 1.0),  # two jobs fill one replica's two slots
    (1, 0.0, {"r1": 5.0}, {"r1": 2.0}, 2.5),  # queued jobs ask for more replicas
    # the queue is shared: every replica reports it (the largest report counts), and
    # requests and jobs add up
    (2, 2.0, {"r1": 4.0, "r2": 3.0}, {"r1": 2.0, "r2": 2.0}, 3.0),
    (1, 0.0, {"r1": 3.0}, {"r1": 0.0}, 3.0),  # slots below one count as one
])
def test_policy_counts_requests_and_jobs(replicas: int, requests: float,
                                         jobs: dict[str, float] | None,
                                         slots: dict[str, float] | None,
                                         desired: float) -> None:
    assert ocr_autoscaling_policy(context(replicas, requests, jobs, slots)) == (desired, {})


def test_policy_leaves_scaling_from_zero_to_serve() -> None:
    assert ocr_autoscaling_policy(context(0, 0.0, target=1)) == (1, {})


def test_deployment_config_carries_the_policy() -> None:
    """Serve accepted the config: the policy is named by its import path and pickled by
    value (what the controller runs), and the deployment reports the metrics."""
    from deployments.ocr.deployment import Ocr, OcrDeployment

    config = OcrDeployment._deployment_config.autoscaling_config
    assert config is not None
    assert config.policy.policy_function == \
        "deployments.ocr.scaling.ocr_autoscaling_policy"
    controller_side = config.policy.get_policy()
    ctx = context(1, 1.0, {"r1": 4.0}, {"r1": 2.0})
    assert controller_side(ctx) == ocr_autoscaling_policy(ctx) == (2.5, {})
    assert callable(getattr(Ocr, "record_autoscaling_stats", None))


async def test_service_reports_queued_and_running_jobs(tmp_path: Path,
                                                       chdb_warehouse: Any) -> None:
    stores = make_stores(tmp_path, chdb_warehouse)
    service = OcrService(Settings(environment="test", data_dir=tmp_path, ocr_worker_jobs=3),
                         stores)
    try:
        assert await service.autoscaling_stats() == {JOBS: 0.0, JOB_SLOTS: 3.0}
        for n in range(3):
            await stores.eventbus.enqueue(OCR_QUEUE, {"n": n})
        running = await stores.eventbus.claim(OCR_QUEUE, "worker", 30)
        assert running is not None
        assert await service.autoscaling_stats() == {JOBS: 3.0, JOB_SLOTS: 3.0}
        await stores.eventbus.ack(running)
        assert (await service.autoscaling_stats())[JOBS] == 2.0
    finally:
        await service.stop()
        await stores.database.close()


class _Queue:
    """A stand-in replica that reports a queue of jobs and two slots, like `Ocr`."""

    def __init__(self, jobs: float) -> None:
        self.jobs = jobs

    def record_autoscaling_stats(self) -> dict[str, float]:
        return {JOBS: self.jobs, JOB_SLOTS: 2.0}

    def __call__(self) -> str:
        return "ok"


@pytest.mark.ray
@pytest.mark.serve
def test_serve_scales_on_reported_jobs(serve_url: str) -> None:
    """Serve runs the policy on the reported metrics: with five jobs and two slots per
    replica and no request at all, it scales from one replica to its maximum, three."""
    from ray import serve
    from ray.serve.schema import ReplicaState

    # Beside the session's Serve app (starting and shutting down a Serve instance of its
    # own here left the later tests' HTTP proxy unreachable).
    deployment = serve.deployment(
        name="OcrScalingProbe", ray_actor_options={"num_cpus": 0},
        autoscaling_config={**CONFIG, "max_replicas": 3, "upscale_delay_s": 0,
                            "metrics_interval_s": 0.2, "look_back_period_s": 1,
                            "policy": {"policy_function": ocr_autoscaling_policy}},
    )(_Queue)
    serve.run(deployment.bind(5.0), name="ocr-scaling-probe", route_prefix=None)
    try:
        deadline = time.monotonic() + 120
        while True:
            status = serve.status().applications["ocr-scaling-probe"]
            replicas = status.deployments["OcrScalingProbe"].replica_states.get(
                ReplicaState.RUNNING, 0)
            if replicas == 3:
                break
            assert time.monotonic() < deadline, f"still {replicas} replicas: {status}"
            time.sleep(0.5)
    finally:
        serve.delete("ocr-scaling-probe")
