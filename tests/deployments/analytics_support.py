"""Shared helpers of the analytics route and Serve tests: small slices of the real
marketing data (../shared/data/marketing) and job polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.support import shared_data


def retail_csv(lines: int = 1500) -> bytes:
    """The header and the first `lines` invoices of UCI Online Retail (real data)."""
    path = shared_data("marketing", "rfm_clv", "online_retail_invoices.csv")
    with path.open("rb") as handle:
        return b"".join(handle.readline() for _ in range(lines + 1))


def wait_for_job(get: Callable[[str], Any], job_id: str, timeout_s: float = 120.0
                 ) -> dict[str, Any]:
    """Poll ``GET /api/v1/jobs/{id}`` (through `get`) until the job has finished."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = get(f"/api/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        time.sleep(0.1)
