"""The echo service as a Serve deployment. The ingress routes ``/api/v1/echo`` to it; it is
the target of the ingress latency benchmark."""

from __future__ import annotations

from ray import serve
from ray.serve import Deployment

from deployments.echo.service import Echo

EchoDeployment: Deployment = serve.deployment(
    name="Echo", ray_actor_options={"num_cpus": 0.1},
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 32},
    max_ongoing_requests=256,
)(Echo)
