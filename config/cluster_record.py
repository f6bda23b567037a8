"""Where the running suite's Ray cluster is: ``<data_dir>/ray/cluster.json``, written by
`armillary up` once its cluster is up and removed when it stops, and the cluster's auth
token beside it (``<data_dir>/ray/auth_token``, mode 0600).

Every driver of an instance (the CLI, batch OCR, training, job submission) finds its own
cluster here, by the instance's ``data_dir``, never by looking for "some Ray on this host"
(``address="auto"``), which on a host with two suites is the wrong one half of the time.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ClusterRecord:
    address: str
    """GCS ``host:port`` of the head (what ``ray.init(address=...)`` takes)."""
    dashboard_url: str
    """The job server (Ray dashboard) of the cluster."""
    temp_dir: str
    owner_pid: int
    """The `armillary up` process: a record whose owner is gone is stale."""
    ports: dict[str, int] = field(default_factory=dict)
    """Per-instance ports: http, serve fallback, HAProxy stats and metrics."""
    nodes: list[dict[str, Any]] = field(default_factory=list)
    """``{ip, num_cpus, resources}`` of each node started, the head first."""

    def token(self, data_dir: Path) -> str:
        return token_path(data_dir).read_text().strip()


def record_path(data_dir: Path) -> Path:
    return data_dir / "ray" / "cluster.json"


def token_path(data_dir: Path) -> Path:
    return data_dir / "ray" / "auth_token"


def write_record(data_dir: Path, record: ClusterRecord, token: str) -> None:
    folder = record_path(data_dir).parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp_token = folder / ".auth_token.tmp"
    fd = os.open(tmp_token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    os.replace(tmp_token, token_path(data_dir))
    tmp = folder / ".cluster.json.tmp"
    tmp.write_text(json.dumps(asdict(record), indent=2))
    os.replace(tmp, record_path(data_dir))


def read_record(data_dir: Path) -> ClusterRecord | None:
    """The record of this instance's running cluster; None when there is none, or when the
    process that wrote it is gone (a crash left it behind)."""
    try:
        data = json.loads(record_path(data_dir).read_text())
        record = ClusterRecord(**data)
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(record.owner_pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user
    return record


def remove_record(data_dir: Path) -> None:
    record_path(data_dir).unlink(missing_ok=True)
    token_path(data_dir).unlink(missing_ok=True)
