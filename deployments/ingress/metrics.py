"""Prometheus metrics of one ingress replica (its own registry, so several apps can
live in one process, e.g. in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class IngressMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "armillary_http_requests", "HTTP requests by route and status",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "armillary_http_request_duration_seconds", "HTTP request latency",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.store_up = Gauge(
            "armillary_store_up", "1 when the store answered its last health check",
            ["store"], registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def set_health(self, health: dict[str, str]) -> None:
        for store, state in health.items():
            self.store_up.labels(store).set(1 if state == "ok" else 0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
