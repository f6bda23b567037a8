"""The suite's own Ray cluster on this machine, as `armillary up` starts it: a private head
(`cluster.head.LocalHead`: its own temp dir, ports and token, with the job server) plus
``ray_worker_nodes`` worker nodes, every node declaring the resource model's pools
(`config.workloads`), and every per-instance port taken from the settings (0: a free one)
so that two suites on one host never answer each other's requests. The cluster is recorded
in ``<data_dir>/ray/cluster.json`` for the instance's other commands
(`training.ray_connect`).
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from cluster.head import LocalHead
from cluster.ports import free_port, reserve_port
from config.cluster_record import ClusterRecord, remove_record, write_record
from config.settings import Settings
from config.workloads import node_resources


class PortInUseError(RuntimeError):
    """A port this instance needs is taken (another suite on this host?)."""


def dashboard_port(settings: Settings) -> int:
    return urlsplit(settings.ray_dashboard_url).port or 8265


def instance_ports(settings: Settings) -> dict[str, int]:
    """Every port of this instance, the zeros replaced by free ports; raises
    :class:`PortInUseError` naming the setting when an explicit one is taken."""
    wanted = {
        "http": ("http_port", settings.http_port),
        "dashboard": ("ray_dashboard_url", dashboard_port(settings)),
        "gcs": ("ray_port", settings.ray_port),
        "serve_fallback_http": ("serve_fallback_http_port", settings.serve_fallback_http_port),
        "serve_fallback_grpc": ("serve_fallback_grpc_port", settings.serve_fallback_grpc_port),
        "haproxy_stats": ("haproxy_stats_port", settings.haproxy_stats_port),
        "haproxy_metrics": ("haproxy_metrics_port", settings.haproxy_metrics_port),
    }
    ports: dict[str, int] = {}
    for _setting, port in wanted.values():
        reserve_port(port)
    for name, (setting, port) in wanted.items():
        if port == 0:
            port = free_port()
            while port in ports.values():
                port = free_port()
        elif not _bindable(settings.http_host if name == "http" else "127.0.0.1", port):
            raise PortInUseError(
                f"port {port} ({setting}) is in use: is another suite running on this host? "
                f"Give this one other ports (ARMILLARY_{setting.upper()}) and its own "
                "ARMILLARY_DATA_DIR")
        ports[name] = port
    return ports


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def serve_environment(ports: dict[str, int]) -> dict[str, str]:
    """Serve's per-instance ports, read from the environment of the Serve controller (so
    set before Ray starts)."""
    return {
        "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT": str(ports["serve_fallback_http"]),
        "RAY_SERVE_FALLBACK_PROXY_GRPC_PORT": str(ports["serve_fallback_grpc"]),
        "RAY_SERVE_HAPROXY_STATS_PORT": str(ports["haproxy_stats"]),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(ports["haproxy_metrics"]),
    }


def start_cluster(settings: Settings, env: dict[str, str] | None = None) -> LocalHead:
    """Start the head and the worker nodes, and record them; the caller stops it
    (:func:`stop_cluster`). ``env`` is added to every Ray process's environment."""
    ports = instance_ports(settings)
    temp_dir = settings.ray_temp_dir or Path(tempfile.mkdtemp(prefix="/tmp/arm-"))
    head = LocalHead(
        temp_dir=temp_dir, port=ports["gcs"], dashboard_port=ports["dashboard"],
        num_cpus=settings.ray_num_cpus,
        resources=node_resources(settings.ray_num_cpus if settings.ray_head_batch else 0),
        env={**(env or {}), **serve_environment(ports)},
    )
    head.start()
    try:
        for _ in range(settings.ray_worker_nodes):
            head.add_worker(settings.ray_worker_node_cpus,
                            node_resources(settings.ray_worker_node_cpus))
    except BaseException:
        head.stop()
        raise
    nodes = [{"ip": "127.0.0.1", "num_cpus": head.num_cpus, "resources": head.resources}]
    nodes += [{"ip": w.ip, "num_cpus": w.num_cpus, "resources": w.resources}
              for w in head.workers]
    record = ClusterRecord(address=head.address, dashboard_url=head.dashboard_url,
                           temp_dir=str(temp_dir), owner_pid=os.getpid(), ports=ports,
                           nodes=nodes)
    write_record(settings.data_dir, record, head.token)
    return head


def stop_cluster(settings: Settings, head: LocalHead, grace_s: float = 4) -> None:
    """Forget the cluster record and end the cluster's processes by pid (SIGTERM, SIGKILL
    after ``grace_s``)."""
    remove_record(settings.data_dir)
    head.stop(grace_s=grace_s)
