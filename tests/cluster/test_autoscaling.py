"""Serve autoscaling under a load ramp, on a suite started with `armillary up`: the Ingress
goes up from its minimum while many clients call, and back down once they stop.

The suite runs with a small Ingress target (``ingress_max_ongoing_requests`` 4: target 2
ongoing requests per replica) and short delays (up 1 s, down 8 s instead of Serve's 30 s and
600 s). Serve averages the load over its look-back period (30 s) first, so the way down takes
about a minute after the load stops. Running replicas are counted once a second from Serve's
REST API on the dashboard.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.cluster.suite_process import SuiteProcess

pytestmark = [pytest.mark.ray, pytest.mark.slow]
RAMP = ((2, 8.0), (12, 10.0), (32, 25.0), (0, 90.0))
"""(closed-loop clients, seconds) stages of the load."""


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteProcess]:
    process = SuiteProcess(
        tmp_path_factory.mktemp("autoscaling"), ingress_min_replicas=1,
        ingress_max_replicas=3, ingress_max_ongoing_requests=4, ingress_upscale_delay_s=1,
        ingress_downscale_delay_s=8, rate_limit_per_minute=1_000_000)
    try:
        process.start()
        yield process
    finally:
        process.stop()


def ingress_replicas(suite: SuiteProcess) -> int:
    """Running Ingress replicas, as Serve counts them (a replica stopping or starting is
    not counted)."""
    record = suite.record()
    response = httpx.get(f"{record.dashboard_url}/api/serve/applications/", timeout=30,
                         headers={"Authorization": f"Bearer {suite.ray_token()}"})
    response.raise_for_status()
    app = response.json()["applications"]["armillary"]
    replicas = app["deployments"]["Ingress"]["replicas"]
    return sum(1 for replica in replicas if replica["state"] == "RUNNING")


class Load:
    """Closed-loop clients calling the echo route; the number of clients can change."""

    def __init__(self, suite: SuiteProcess) -> None:
        self.suite, self.headers = suite, suite.headers()
        self.wanted = 0
        self.ok = self.failed = 0
        self.stopped = threading.Event()
        self.threads: list[threading.Thread] = []

    def set_clients(self, n: int) -> None:
        self.wanted = n
        while len(self.threads) < n:
            thread = threading.Thread(target=self._client, args=(len(self.threads),),
                                      daemon=True)
            self.threads.append(thread)
            thread.start()

    def _client(self, index: int) -> None:
        with httpx.Client(base_url=self.suite.url, headers=self.headers, timeout=30) as http:
            while not self.stopped.is_set():
                if index >= self.wanted:
                    time.sleep(0.2)
                    continue
                try:
                    status = http.get("/api/v1/echo", params={"message": "ramp"}).status_code
                except httpx.TransportError:
                    status = 0
                if status == 200:
                    self.ok += 1
                else:
                    self.failed += 1

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(40)


def test_ingress_scales_up_under_a_ramp_and_back_down_after_it(suite: SuiteProcess) -> None:
    assert ingress_replicas(suite) == 1
    load = Load(suite)
    timeline: list[tuple[float, int, int]] = []  # (seconds, clients, Ingress replicas)
    start = time.monotonic()
    try:
        for clients, seconds in RAMP:
            load.set_clients(clients)
            stage_end = time.monotonic() + seconds
            while time.monotonic() < stage_end:
                timeline.append((time.monotonic() - start, clients, ingress_replicas(suite)))
                time.sleep(1)
    finally:
        load.stop()
    print("\nIngress replicas under a ramp (s, clients, replicas): "
          + ", ".join(f"{t:.0f}/{c}/{r}" for t, c, r in timeline[::3]))
    print(f"requests: {load.ok} answered 200, {load.failed} failed")
    peak = max(r for _, c, r in timeline if c == max(c for c, _ in RAMP))
    assert 2 <= peak <= 3, timeline
    up_at = next(t for t, _, r in timeline if r >= 2)
    quiet = [(t, r) for t, c, r in timeline if c == 0]
    down_at = next((t for t, r in quiet if r == 1), None)
    assert down_at is not None, f"still {quiet[-1][1]} replicas after the load stopped"
    print(f"first scale-up at {up_at:.0f} s, back to 1 replica at {down_at:.0f} s "
          f"({down_at - quiet[0][0]:.0f} s after the load stopped)")
    assert load.failed == 0 and load.ok > 500
