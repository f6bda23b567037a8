"""Time from a fresh data dir to the first useful answers, and the shutdown, as a new user
meets them (issue 16): `armillary up` on an empty ``ARMILLARY_DATA_DIR`` (its own ports),
then, from the moment it was started:

- ``ready``: ``/ready`` answers 200;
- ``ocr``: the first ``POST /api/v1/ocr/documents`` (a one-line PNG) that answers 200 with text;
- ``prediction``: the first ``GET /api/v1/crypto/BTC-USDT/prediction`` that answers 200 (the
  background training of the first model must have registered it);
- ``report``: the analytics page's first-visit path: ``POST /api/v1/analytics/imports/sample``
  (real Online Retail invoices with the shared data, synthetic without), then ``POST
  /api/v1/analytics/reports`` on it, until the report job has succeeded;
- ``shutdown``: SIGTERM (Ctrl-C) until the process has exited.

Once without ../shared (``ARMILLARY_SHARED_DIR`` pointing at an empty folder: synthetic
candles) and once with it (``--shared DIR``, default /work/shared if present). Prints a table.

    python benchmarks/first_run.py                  # both, ports 8230-8233
    python benchmarks/first_run.py --only no-shared
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ARMILLARY = str(Path(sys.executable).parent / "armillary")
PASSWORD = "first-run-bench-pw"  # noqa: S105 - a throwaway suite's admin


def png() -> bytes:
    """A one-line page at 150 dpi (DejaVu Sans where installed)."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    font = (ImageFont.truetype(str(dejavu), 28) if dejavu.is_file()
            else ImageFont.load_default(size=28))
    img = Image.new("L", (900, 160), 255)
    ImageDraw.Draw(img).text((40, 40), "Invoice number 12345", font=font, fill=0)
    out = io.BytesIO()
    img.save(out, "PNG", dpi=(150, 150))
    return out.getvalue()


class ReportSteps:
    """Sample import, then a report on it: one step per call of :meth:`step`, which says
    whether the report is there. A failed job ends it (``failed`` says why)."""

    def __init__(self) -> None:
        self.job: str | None = None
        self.kind = "sample"
        self.sample = ""
        self.failed = ""

    def step(self, base: str, auth: dict[str, str]) -> bool:
        if self.failed:
            return False
        if self.job is None:
            path = "imports/sample" if self.kind == "sample" else "reports"
            r = httpx.post(f"{base}/api/v1/analytics/{path}", headers=auth, json={}, timeout=60)
            r.raise_for_status()
            self.job = r.json()["job_id"]
            if self.kind == "sample":
                self.sample = "synthetic" if r.json()["synthetic"] else "real"
            return False
        job = httpx.get(f"{base}/api/v1/jobs/{self.job}", headers=auth, timeout=30).json()
        if job["status"] == "failed":
            self.failed = f"{self.kind}: {job.get('reason') or job.get('error')}"
        elif job["status"] == "succeeded":
            if self.kind == "report":
                return True
            self.kind, self.job = "report", None
        return False


def run_once(label: str, shared: Path, port: int, timeout_s: float) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix=f"first-run-{label}-"))
    env = {**os.environ, "ARMILLARY_DATA_DIR": str(data / "var"),
           "ARMILLARY_HTTP_PORT": str(port),
           "ARMILLARY_RAY_DASHBOARD_URL": f"http://127.0.0.1:{port + 1}",
           "ARMILLARY_SHARED_DIR": str(shared), "ARMILLARY_ADMIN_PASSWORD": PASSWORD,
           "ARMILLARY_ENVIRONMENT": "test"}
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = subprocess.Popen([ARMILLARY, "up"], env=env, cwd=data, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    out: dict[str, Any] = {"label": label}
    token = None
    image = png()
    report = ReportSteps()
    try:
        while time.monotonic() - started < timeout_s and process.poll() is None:
            now = time.monotonic() - started
            try:
                if "ready" not in out:
                    if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                        out["ready"] = now
                    else:
                        time.sleep(1)
                    continue
                if token is None:
                    token = httpx.post(f"{base}/api/v1/auth/token", timeout=30, data={
                        "username": "admin", "password": PASSWORD}).json()["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                if "ocr" not in out:
                    r = httpx.post(f"{base}/api/v1/ocr/documents", headers=auth, timeout=120,
                                   files={"file": ("page.png", image, "image/png")})
                    if r.status_code == 200 and "12345" in r.json().get("text", ""):
                        out["ocr"] = time.monotonic() - started
                if "prediction" not in out:
                    r = httpx.get(f"{base}/api/v1/crypto/BTC-USDT/prediction", headers=auth,
                                  timeout=60)
                    if r.status_code == 200:
                        out["prediction"] = time.monotonic() - started
                if "report" not in out and report.step(base, auth):
                    out["report"] = time.monotonic() - started
                    out["sample"] = report.sample
                if "ocr" in out and "prediction" in out and ("report" in out or report.failed):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(2)
    finally:
        stop = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(120)
            out["shutdown"] = time.monotonic() - stop
        except subprocess.TimeoutExpired:
            process.kill()
            out["shutdown"] = float("inf")
    if report.failed:
        out["report_error"] = report.failed
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--only", choices=["no-shared", "shared"], default=None)
    parser.add_argument("--port", type=int, default=8230)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    empty = Path(tempfile.mkdtemp(prefix="first-run-noshared-"))
    runs = [("no-shared", empty, args.port), ("shared", args.shared, args.port + 2)]
    load = os.getloadavg()[0]
    rows = [run_once(label, shared, port, args.timeout) for label, shared, port in runs
            if args.only in (None, label)]
    print(f"load average (1 min): start {load:.1f}, end {os.getloadavg()[0]:.1f}")
    print(f"{'run':<10} {'ready s':>8} {'ocr s':>8} {'prediction s':>13} {'report s':>9} "
          f"{'sample':>10} {'shutdown s':>11}")
    for row in rows:
        cells = [f"{row[k]:.1f}" if k in row else "-" for k in
                 ("ready", "ocr", "prediction", "report", "shutdown")]
        print(f"{row['label']:<10} {cells[0]:>8} {cells[1]:>8} {cells[2]:>13} {cells[3]:>9} "
              f"{row.get('sample', '-'):>10} {cells[4]:>11}")
    for row in rows:
        if "report_error" in row:
            print(f"{row['label']}: the report failed: {row['report_error']}")


if __name__ == "__main__":
    main()
