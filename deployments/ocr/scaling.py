"""Autoscaling of the OCR deployment on its whole load: ongoing requests and document
jobs.

Serve's default policy counts ongoing requests only, and a queued job is not a request:
a full queue would leave one replica working through it. Every replica reports two
custom metrics (Serve calls its ``record_autoscaling_stats``, which returns
``OcrService.autoscaling_stats``):

- :data:`JOBS`: document jobs queued or running (tasks not acked on the queue). The
  queue is shared, so every replica reports the same count;
- :data:`JOB_SLOTS`: jobs one replica runs at a time (its ``ocr_worker_jobs``).

:func:`ocr_autoscaling_policy` asks for the replicas the requests need (as Serve's
default: ongoing requests over ``target_ongoing_requests``) plus those the jobs need
(jobs over slots). Serve applies ``min_replicas``/``max_replicas``, the up/downscale
delays and factors to the answer. With no replica running there is no metric: scaling
from zero replicas still needs a request.

Serve pickles this module by value into its controller: it imports nothing of the
project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ray.serve.config import AutoscalingContext

JOBS = "ocr_jobs"
JOB_SLOTS = "ocr_job_slots"


def ocr_autoscaling_policy(ctx: AutoscalingContext) -> tuple[float, dict[str, Any]]:
    """Desired replicas (fractional; Serve rounds up and bounds it) and the policy
    state (none)."""
    if ctx.current_num_replicas == 0:
        return ctx.target_num_replicas, {}
    assert ctx.config is not None  # Serve passes the deployment's AutoscalingConfig
    for_requests = ctx.total_num_requests / ctx.config.get_target_ongoing_requests()
    metrics = ctx.aggregated_metrics or {}
    jobs = max(metrics.get(JOBS, {}).values(), default=0.0)
    slots = max(min(metrics.get(JOB_SLOTS, {}).values(), default=1.0), 1.0)
    return for_requests + jobs / slots, {}
