"""A whole suite as a user runs it: `armillary up` in a process of its own (its own data dir,
ports and Ray cluster, worker nodes if asked), driven over HTTP and the CLI, stopped with
SIGTERM like `armillary down` and, if anything is left, killed by pid (its cluster's temp
dir), never by name."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from cluster.head import LocalHead, WorkerNode, kill_node
from config.cluster_record import ClusterRecord, read_record
from config.workloads import node_resources
from tests.services import free_port

ARMILLARY = str(Path(sys.executable).parent / "armillary")
ADMIN_PASSWORD = "suite-process-admin-pw"


class SuiteProcess:
    def __init__(self, root: Path, *, worker_nodes: int = 0, **settings: Any) -> None:
        self.root = root
        self.data_dir = root / "var"
        self.http_port = free_port()
        self.env = {
            **os.environ,
            "ARMILLARY_ENVIRONMENT": "test",
            "ARMILLARY_DATA_DIR": str(self.data_dir),
            "ARMILLARY_HTTP_PORT": str(self.http_port),
            "ARMILLARY_RAY_DASHBOARD_URL": f"http://127.0.0.1:{free_port()}",
            "ARMILLARY_CRYPTO_BOOTSTRAP": "false",
            "ARMILLARY_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ARMILLARY_JWT_SECRET": os.urandom(24).hex(),
            "ARMILLARY_RAY_WORKER_NODES": str(worker_nodes),
            # a dead node is noticed in ~3 s instead of Ray's ~15 s
            "RAY_health_check_period_ms": "1000",
            "RAY_health_check_failure_threshold": "3",
            **{f"ARMILLARY_{k.upper()}": str(v) for k, v in settings.items()},
        }
        for key in ("RAY_ADDRESS", "ARMILLARY_RAY_ADDRESS", "ARMILLARY_SETTINGS_FILE"):
            self.env.pop(key, None)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "up.log"
        self._token: str | None = None
        self._record: ClusterRecord | None = None
        self._ray_token: str | None = None
        self._head_ip: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout_s: float = 300) -> SuiteProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        self._record = self._ray_token = self._head_ip = None  # a new cluster
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [ARMILLARY, "up"], env=self.env, cwd=self.root, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"armillary up exited {self.process.returncode}:\n"
                                   + self.log_tail())
            if "Armillary is serving" in self.log.read_text(errors="replace"):
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                        return self
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"the suite did not start in {timeout_s} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the terminal output, and of the log file Ray's output goes to."""
        from cluster.console import LOG_NAME

        tails = []
        for path in (self.log, self.data_dir / "logs" / LOG_NAME):
            if path.exists():
                tails.append(f"--- {path}\n" + path.read_text(errors="replace")[-chars:])
        return "\n".join(tails)

    def record(self) -> ClusterRecord:
        """The suite's cluster record (read once: it holds for the suite's whole life)."""
        if self._record is None:
            self._record = read_record(self.data_dir)
            assert self._record is not None, "the suite recorded no cluster"
        return self._record

    def ray_token(self) -> str:
        if self._ray_token is None:
            self._ray_token = self.record().token(self.data_dir)
        return self._ray_token

    def token(self) -> str:
        if self._token is None:
            response = httpx.post(f"{self.url}/api/v1/auth/token", timeout=30,
                                  data={"username": "admin", "password": ADMIN_PASSWORD})
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def cli(self, *args: str, timeout_s: float = 600,
            **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """`armillary ARGS` against this suite (its settings in the environment)."""
        return subprocess.run([ARMILLARY, *args], env=self.env, cwd=self.root,
                              capture_output=True, text=True, timeout=timeout_s, check=False,
                              **kwargs)

    def state(self, resource: str, **params: Any) -> list[dict[str, Any]]:
        """Ray's state API on this suite's dashboard (actors, nodes, tasks ...)."""
        record = self.record()
        response = httpx.get(f"{record.dashboard_url}/api/v0/{resource}",
                             params={"limit": 10000, **params}, timeout=30,
                             headers={"Authorization": f"Bearer {self.ray_token()}"})
        response.raise_for_status()
        return list(response.json()["data"]["result"]["result"])

    def node_ips(self) -> dict[str, str]:
        """node id -> IP of the nodes alive now."""
        return {n["node_id"]: n["node_ip"] for n in self.state("nodes") if n["state"] == "ALIVE"}

    def head_ip(self) -> str:
        """The head node's IP, asked once (Ray reports the host's address for a head started
        on 127.0.0.1 where the host has one)."""
        if self._head_ip is None:
            self._head_ip = next(n["node_ip"] for n in self.state("nodes")
                                 if n["state"] == "ALIVE" and n["is_head_node"])
        return self._head_ip

    def actors_by_node(self, class_part: str) -> dict[str, int]:
        """IP -> alive actors whose class name contains ``class_part``."""
        ips = self.node_ips()
        counts: dict[str, int] = {}
        for actor in self.state("actors"):
            if actor["state"] == "ALIVE" and class_part in actor["class_name"]:
                ip = ips.get(actor["node_id"], "?")
                counts[ip] = counts.get(ip, 0) + 1
        return counts

    def kill_node(self, ip: str) -> set[int]:
        assert ip != self.head_ip(), "the head is not killed here"
        return kill_node(ip)

    def add_node(self, ip: str, num_cpus: float = 1.0) -> None:
        """Start a worker node at ``ip`` again (after a kill) in this suite's cluster."""
        record = self.record()
        head = LocalHead(temp_dir=Path(record.temp_dir), port=record.ports["gcs"],
                         dashboard_port=record.ports["dashboard"], token=self.ray_token(),
                         env={k: v for k, v in self.env.items() if k.startswith("RAY_")})
        WorkerNode(head, ip, num_cpus, node_resources(num_cpus)).start()

    def stop(self, timeout_s: float = 90) -> None:
        record = read_record(self.data_dir)
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        if record is not None:  # anything of its cluster still alive: by pid
            LocalHead(temp_dir=Path(record.temp_dir), port=0, dashboard_port=0).stop()
