"""The analytics deployment inside the real Serve application: an import job, typed
errors raised in the replica arriving as clean 4xx, segments, and a report produced by
the replica's own worker loop through the task queue."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.deployments.analytics_support import retail_csv, wait_for_job

pytestmark = [pytest.mark.ray, pytest.mark.serve]
A = "/api/v1/analytics"


def test_analytics_through_serve(serve_url: str) -> None:
    data = retail_csv(3000)
    with httpx.Client(base_url=serve_url, timeout=60) as http:
        login = http.post("/api/v1/auth/token",
                          data={"username": "admin", "password": "admin-dev-password"})
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        table = f"serve_{uuid.uuid4().hex[:8]}"

        started = http.post(f"{A}/imports", data={"table": table},
                            files={"file": ("retail.csv", data, "text/csv")})
        assert started.status_code == 202, started.text
        job = wait_for_job(http.get, started.json()["job_id"])
        assert job["status"] == "succeeded", job["error"]
        assert job["result"]["rows_imported"] == 3000 and job["result"]["table"] == table

        # typed errors raised inside the replica reach the client as 4xx with the message
        bad = http.post(f"{A}/imports", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
        assert bad.status_code == 400, bad.text
        assert bad.json()["detail"].startswith("missing required column")
        unfitted = http.get(f"{A}/customers/4/clv")
        assert unfitted.status_code in (200, 409), unfitted.text
        if unfitted.status_code == 409:
            assert "Traceback" not in unfitted.json()["detail"]
        unknown = http.get(f"{A}/customers/nobody/segment", params={"table": table})
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["detail"] == "unknown customer id(s): nobody"

        segments = http.get(f"{A}/segments", params={"table": table})
        assert segments.status_code == 200, segments.text
        assert segments.json()["customers"] == job["result"]["customers"]

        report = http.post(f"{A}/reports", json={"table": table, "k_min": 2, "k_max": 3,
                                                 "holdout_days": 21})
        assert report.status_code == 202, report.text
        done = wait_for_job(http.get, report.json()["job_id"], timeout_s=180)
        assert done["status"] == "succeeded", done["error"]
        html = http.get(done["result"]["html_url"])
        assert html.status_code == 200 and "data:image/png;base64," in html.text
        listed = http.get(f"{A}/reports").json()
        assert done["result"]["id"] in [r["id"] for r in listed]
