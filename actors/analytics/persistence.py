"""Versioned model artifacts: one directory per saved model holding `model.joblib` and
`metadata.json` (name, kind, version, created_at, params, metrics, library versions).
The model registry stores the directory path and the metadata."""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from actors.analytics.errors import AnalyticsError

MODEL_FILE, META_FILE = "model.joblib", "metadata.json"


@dataclass(frozen=True)
class ArtifactInfo:
    path: Path
    metadata: dict[str, Any]


def _versions() -> dict[str, str]:
    import numpy
    import pandas
    import scipy
    import sklearn

    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "pandas": pandas.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__}


def save_model(
    model: Any,
    root: str | Path,
    name: str,
    kind: str,
    metrics: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> ArtifactInfo:
    """Write `model` under root/name/<version>/; version = UTC time + content hash."""
    root = Path(root)
    stamp = datetime.now(UTC)
    tmp = root / name / f".tmp-{stamp:%Y%m%dT%H%M%S%f}"
    tmp.mkdir(parents=True, exist_ok=False)
    joblib.dump(model, tmp / MODEL_FILE)
    digest = hashlib.sha256((tmp / MODEL_FILE).read_bytes()).hexdigest()[:12]
    version = f"{stamp:%Y%m%dT%H%M%SZ}-{digest}"
    meta = {
        "name": name, "kind": kind, "version": version, "created_at": stamp.isoformat(),
        "sha256_prefix": digest, "params": params or {}, "metrics": metrics or {},
        "libraries": _versions(),
    }
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    final = root / name / version
    tmp.rename(final)
    return ArtifactInfo(final, meta)


def load_model(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load a model directory written by `save_model`; checks the content hash."""
    path = Path(path)
    try:
        meta = json.loads((path / META_FILE).read_text())
        blob = (path / MODEL_FILE).read_bytes()
    except (OSError, ValueError) as exc:
        raise AnalyticsError(f"no readable model artifact at {path}") from exc
    if hashlib.sha256(blob).hexdigest()[:12] != meta.get("sha256_prefix"):
        raise AnalyticsError(f"model artifact at {path} does not match its metadata hash")
    return joblib.load(path / MODEL_FILE), meta


def latest_version(root: str | Path, name: str) -> Path:
    """The newest saved version directory of `name`."""
    versions = sorted(p for p in (Path(root) / name).glob("*") if not p.name.startswith("."))
    if not versions:
        raise AnalyticsError(f"no saved versions of model {name!r} under {root}")
    return versions[-1]
