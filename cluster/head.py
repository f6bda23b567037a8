"""A private local Ray cluster: a head (``ray start --head``) in its own temp dir, with its
own ports and its own auth token, optional worker nodes on other loopback addresses
(``ray start --address`` on 127.0.0.2, 127.0.0.3, ...: separate raylets, each with its own
resources), and a stop that ends only that cluster's processes.

``ray stop`` ends every Ray process on the machine (other clusters included), so `stop`
here instead ends, by pid, the processes whose command line names this head's temp dir
plus their descendants: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cluster.ports import free_port


@dataclass
class LocalHead:
    temp_dir: Path
    """Short path (Ray's unix sockets live under it): e.g. mkdtemp(prefix='/tmp/rh')."""
    port: int
    dashboard_port: int
    num_cpus: float = 1
    agent_port: int = 0
    """Dashboard agent HTTP port (Ray's default 52365 is shared machine-wide): 0 = free."""
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    env: dict[str, str] = field(default_factory=dict)
    resources: dict[str, float] = field(default_factory=dict)
    """Custom resources of the head node (``--resources``)."""
    workers: list[WorkerNode] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def client_env(self) -> dict[str, str]:
        """What a job client needs to authenticate against this head."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def _env(self) -> dict[str, str]:
        bin_dir = Path(sys.executable).parent
        env = {
            **os.environ,
            **self.env,
            **self.client_env(),
            "RAY_USAGE_STATS_ENABLED": "0",
            # job drivers run `python ...` from PATH: the same interpreter as this one
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        env.pop("RAY_ADDRESS", None)
        env.pop("RAY_AUTH_TOKEN_PATH", None)
        return env

    def start(self, timeout_s: float = 90) -> None:
        command = [
            _ray(), "start", "--head",
            "--node-ip-address", "127.0.0.1",
            "--port", str(self.port),
            "--num-cpus", _count(self.num_cpus),
            "--resources", json.dumps(self.resources),
            "--include-dashboard", "true",
            "--dashboard-host", "127.0.0.1",
            "--dashboard-port", str(self.dashboard_port),
            "--temp-dir", str(self.temp_dir),
            "--disable-usage-stats",
        ]
        # every port Ray would otherwise take at a fixed default is chosen free here
        if not self.agent_port:
            self.agent_port = free_port()
        command += [
            "--dashboard-agent-listen-port", str(self.agent_port),
            "--dashboard-agent-grpc-port", str(free_port()),
            "--runtime-env-agent-port", str(free_port()),
            "--metrics-export-port", str(free_port()),
            "--ray-client-server-port", str(free_port()),
        ]
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(command, env=self._env(), capture_output=True, text=True,  # noqa: S603
                              timeout=timeout_s, check=False)
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start failed ({done.returncode}): {done.stderr[-2000:]}")
        self._wait_ready(timeout_s)

    def add_worker(self, num_cpus: float, resources: dict[str, float] | None = None,
                   timeout_s: float = 90) -> WorkerNode:
        """Start a worker node (its own raylet) on the next loopback address, 127.0.0.2 on;
        returns once the cluster counts it alive."""
        used = {node.ip for node in self.workers}
        ip = next(f"127.0.0.{n}" for n in range(2, 255) if f"127.0.0.{n}" not in used)
        node = WorkerNode(self, ip, num_cpus, dict(resources or {}))
        node.start(timeout_s)
        self.workers.append(node)
        return node

    def alive_node_ips(self) -> set[str]:
        """IPs of the nodes the GCS counts alive (through the dashboard's state API)."""
        response = httpx.get(f"{self.dashboard_url}/api/v0/nodes", params={"limit": 100},
                             headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        response.raise_for_status()
        nodes = response.json()["data"]["result"]["result"]
        return {n["node_ip"] for n in nodes if n["state"] == "ALIVE"}

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        headers = {"Authorization": f"Bearer {self.token}"}
        while time.monotonic() < deadline:
            try:
                version = httpx.get(f"{self.dashboard_url}/api/version", headers=headers,
                                    timeout=2).status_code
                # jobs are handed to the dashboard agent: it must be up too
                agent = httpx.get(f"http://127.0.0.1:{self.agent_port}/api/healthz",
                                  headers=headers, timeout=2).status_code
                if version == 200 and agent == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Ray job server at {self.dashboard_url} not ready in {timeout_s} s")

    def pids(self) -> set[int]:
        """This cluster's processes (worker nodes included): those naming its temp dir, and
        their descendants."""
        marker = str(self.temp_dir).encode()
        return _tree(lambda cmdline: marker in cmdline)

    def stop(self, grace_s: float = 4) -> None:
        pids = self.pids()
        _signal(pids, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while pids and time.monotonic() < deadline:
            time.sleep(0.2)
            pids = {pid for pid in pids if _alive(pid)}
        pids |= self.pids()
        _signal(pids, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.1)


@dataclass
class WorkerNode:
    """A worker node of a :class:`LocalHead`: a raylet of its own on a loopback address.
    :meth:`kill` ends it the way a machine failure would (SIGKILL, no goodbye)."""

    head: LocalHead
    ip: str
    num_cpus: float
    resources: dict[str, float]

    def start(self, timeout_s: float = 90) -> None:
        command = [
            _ray(), "start", "--address", self.head.address,
            "--node-ip-address", self.ip,
            "--num-cpus", _count(self.num_cpus),
            "--resources", json.dumps(self.resources),
            "--temp-dir", str(self.head.temp_dir),
            "--disable-usage-stats",
            "--dashboard-agent-listen-port", str(free_port()),
            "--dashboard-agent-grpc-port", str(free_port()),
            "--runtime-env-agent-port", str(free_port()),
            "--metrics-export-port", str(free_port()),
        ]
        done = subprocess.run(command, env=self.head._env(), capture_output=True,  # noqa: S603
                              text=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            self.kill()
            raise RuntimeError(f"ray start (worker {self.ip}) failed ({done.returncode}): "
                               f"{done.stderr[-2000:]}")
        deadline = time.monotonic() + timeout_s
        while self.ip not in self.head.alive_node_ips():
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"worker node {self.ip} did not join in {timeout_s} s")
            time.sleep(0.5)

    def pids(self) -> set[int]:
        return node_pids(self.ip)

    def kill(self) -> set[int]:
        return kill_node(self.ip)


def node_pids(ip: str) -> set[int]:
    """The processes of the local node at ``ip`` (its raylet, agents, log monitor, and their
    descendants: workers, Tesseract...)."""
    markers = (f"--node-ip-address={ip}\x00".encode(), f"--node_ip_address={ip}\x00".encode(),
               f"--node-ip-address\x00{ip}\x00".encode())
    return _tree(lambda cmdline: any(m in cmdline for m in markers))


def kill_node(ip: str) -> set[int]:
    """SIGKILL every process of the local node at ``ip`` at once, the way a machine failure
    ends it; returns the pids killed."""
    pids = node_pids(ip)
    _signal(pids, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    return pids


def _ray() -> str:
    return str(Path(sys.executable).parent / "ray")


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _tree(matches: Callable[[bytes], bool]) -> set[int]:
    """Live processes whose command line ``matches``, and all their descendants."""
    children: dict[int, list[int]] = {}
    roots: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(pid)
        if matches(cmdline) and pid != os.getpid() and _alive(pid):
            roots.add(pid)
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found and _alive(pid):
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _signal(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
