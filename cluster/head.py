"""A private local Ray head (``ray start --head``) in its own temp dir, with its own ports
and its own auth token, and a stop that ends only that head's processes.

``ray stop`` ends every Ray process on the machine (other clusters included), so `stop`
here instead ends, by pid, the processes whose command line names this head's temp dir
plus their descendants: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class LocalHead:
    temp_dir: Path
    """Short path (Ray's unix sockets live under it): e.g. mkdtemp(prefix='/tmp/rh')."""
    port: int
    dashboard_port: int
    num_cpus: int = 1
    agent_port: int = 0
    """Dashboard agent HTTP port (Ray's default 52365 is shared machine-wide): 0 = free."""
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    env: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def client_env(self) -> dict[str, str]:
        """What a job client needs to authenticate against this head."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def start(self, timeout_s: float = 90) -> None:
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
        command = [
            str(bin_dir / "ray"), "start", "--head",
            "--node-ip-address", "127.0.0.1",
            "--port", str(self.port),
            "--num-cpus", str(self.num_cpus),
            "--include-dashboard", "true",
            "--dashboard-host", "127.0.0.1",
            "--dashboard-port", str(self.dashboard_port),
            "--temp-dir", str(self.temp_dir),
            "--disable-usage-stats",
        ]
        # every port Ray would otherwise take at a fixed default is chosen free here
        if not self.agent_port:
            self.agent_port = _free_port()
        command += [
            "--dashboard-agent-listen-port", str(self.agent_port),
            "--dashboard-agent-grpc-port", str(_free_port()),
            "--runtime-env-agent-port", str(_free_port()),
            "--metrics-export-port", str(_free_port()),
            "--ray-client-server-port", str(_free_port()),
        ]
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=timeout_s, check=False)
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start failed ({done.returncode}): {done.stderr[-2000:]}")
        self._wait_ready(timeout_s)

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
        """This head's processes: those naming its temp dir, and their descendants."""
        marker = str(self.temp_dir).encode()
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
            if marker in cmdline and pid != os.getpid() and _alive(pid):
                roots.add(pid)
        found, todo = set(), list(roots)
        while todo:
            pid = todo.pop()
            if pid not in found and _alive(pid):
                found.add(pid)
                todo.extend(children.get(pid, []))
        return found

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
