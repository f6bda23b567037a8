"""Crypto models in the model registry (``storage.records.models``).

One registry name per symbol, interval and horizon — ``crypto-btc-usdt-1h-h1`` — whose
versions are artifact directories under ``<data_dir>/artifacts/crypto/<name>/``. Each artifact
holds the sequence model (``model.keras``, ``metadata.json``) and the walk-forward report of
its training procedure (``backtest.json``): out-of-sample folds scored against persistence.
The registry row keeps the headline metrics (the model's and persistence's walk-forward
scores and the skill statement), the training data range and source, and the code version.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actors.crypto.errors import ArtifactError
from actors.crypto.metrics import (
    DEFAULT_MIN_IMPROVEMENT,
    NONE,
    ForecastMetrics,
    skill_statement,
    skill_verdict,
)
from actors.crypto.metrics import (
    NO_SKILL as NO_SKILL,  # re-exported: the statement of a model without a report
)
from actors.crypto.sequence import METADATA_FILE
from actors.crypto.stores import finite_or_none, symbol_key
from actors.crypto.symbols import format_interval, parse_interval, validate_horizon
from actors.crypto.walkforward import WalkForwardReport
from storage.records.models import ModelRegistry, ModelVersion

BACKTEST_FILE = "backtest.json"
TRAIN_JOB = "crypto-train"
"""Kind of the job rows of crypto training runs (the service reads them: "being trained")."""
MODEL_KEY = "model"
"""Name of the trained model's column in the walk-forward report (next to persistence)."""


def model_name(symbol: str, interval: str, horizon: int) -> str:
    """``crypto-btc-usdt-1h-h1``: the registry name of one symbol, interval and horizon."""
    step = format_interval(parse_interval(interval))
    return f"crypto-{symbol_key(symbol).lower()}-{step}-h{validate_horizon(horizon)}"


def artifact_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "artifacts" / "crypto"


def new_artifact_dir(data_dir: str | Path, name: str) -> Path:
    """A fresh, not yet existing version directory for ``name``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return artifact_root(data_dir) / name / f"{stamp}-{secrets.token_hex(3)}"


def report_to_dict(report: WalkForwardReport, model: str = MODEL_KEY) -> dict[str, Any]:
    """A JSON-friendly walk-forward report: folds, metrics per model, skill statement of
    ``model`` and the out-of-sample forecasts (NaN as null)."""
    preds = report.predictions
    out = {
        "horizon": report.horizon,
        "model": model,
        "folds": [
            {k: v.isoformat() for k, v in asdict(fold).items()} for fold in report.folds
        ],
        "metrics": {name: m.to_dict() for name, m in report.metrics.items()},
        "skill": skill_statement(report.metrics[model]) if model in report.metrics else NO_SKILL,
        "skill_verdict": (skill_verdict(report.metrics[model]) if model in report.metrics
                          else NONE),
        "data_range": [t.isoformat() for t in report.data_range],
        "notes": list(report.notes),
        "n_forecasts": len(preds),
        "predictions": {
            "time": [t.isoformat() for t in preds.index],
            **{col: [float(v) for v in preds[col].to_numpy()] for col in preds.columns},
        },
    }
    return finite_or_none(out)


def assess(
    metrics: dict[str, Any] | None,
    model: str = MODEL_KEY,
    *,
    min_improvement: float = DEFAULT_MIN_IMPROVEMENT,
) -> tuple[str, str]:
    """``(verdict, statement)`` from stored walk-forward metrics (``{model: ForecastMetrics
    dict}``): ``skill`` / ``worse`` / ``none`` (:func:`actors.crypto.metrics.skill_verdict`)
    and its sentence; ``none`` and "no demonstrated skill" when they are missing."""
    stored = (metrics or {}).get(model)
    if not stored:
        return NONE, NO_SKILL
    nan = float("nan")
    values: dict[str, Any] = {k: (nan if v is None else v) for k, v in stored.items()}
    try:
        scored = ForecastMetrics(**values)
    except TypeError:
        return NONE, NO_SKILL
    return (skill_verdict(scored, min_improvement=min_improvement),
            skill_statement(scored, min_improvement=min_improvement))


def skill_of(metrics: dict[str, Any] | None, model: str = MODEL_KEY, *,
             min_improvement: float = DEFAULT_MIN_IMPROVEMENT) -> str:
    """The skill statement of :func:`assess`."""
    return assess(metrics, model, min_improvement=min_improvement)[1]


def write_backtest(artifact_dir: str | Path, backtest: dict[str, Any]) -> Path:
    path = Path(artifact_dir) / BACKTEST_FILE
    path.write_text(json.dumps(finite_or_none(backtest), indent=1, sort_keys=True))
    return path


def read_backtest(artifact_dir: str | Path) -> dict[str, Any] | None:
    path = Path(artifact_dir) / BACKTEST_FILE
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except ValueError as exc:
        raise ArtifactError(f"unreadable walk-forward report {path}: {exc}") from exc
    return data


def read_metadata(artifact_dir: str | Path) -> dict[str, Any]:
    path = Path(artifact_dir) / METADATA_FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{artifact_dir} has no readable {METADATA_FILE}: {exc}") from exc
    return data


def _artifact_facts(
    artifact_dir: str | Path, backtest: dict[str, Any] | None
) -> tuple[Path, dict[str, Any], dict[str, Any] | None]:
    """The artifact's absolute path, metadata and walk-forward report (written there when
    given)."""
    artifact_dir = Path(artifact_dir).resolve()
    meta = read_metadata(artifact_dir)
    if backtest is None:
        backtest = read_backtest(artifact_dir)
    elif not (artifact_dir / BACKTEST_FILE).is_file():
        write_backtest(artifact_dir, backtest)
    return artifact_dir, meta, backtest


async def register_artifact(
    registry: ModelRegistry,
    artifact_dir: str | Path,
    *,
    code_version: str,
    source: dict[str, Any],
    backtest: dict[str, Any] | None = None,
    extra_metrics: dict[str, Any] | None = None,
    make_current: bool = True,
) -> ModelVersion:
    """Register a trained artifact as the next version of its name. ``source`` says where
    the training data came from (``{"kind": "shared"|"import"|"synthetic", ...}``);
    ``backtest`` (default: the artifact's ``backtest.json``) gives the walk-forward metrics."""
    artifact_dir, meta, backtest = await asyncio.to_thread(_artifact_facts, artifact_dir, backtest)
    name = model_name(meta["symbol"], meta["interval"], int(meta["horizon"]))
    walk = (backtest or {}).get("metrics", {})
    metrics: dict[str, Any] = {
        "walkforward": walk,
        "skill": skill_of(walk),
        "skill_verdict": assess(walk)[0],
        "backtest_folds": len((backtest or {}).get("folds", [])),
        "architecture": meta.get("model", {}).get("architecture"),
        **(extra_metrics or {}),
    }
    start, end = (meta.get("data_range") or [None, None])[:2]
    data_range = {
        "start": start,
        "end": end,
        "source": source,
        "synthetic": source.get("kind") == "synthetic",
        "backtest_range": (backtest or {}).get("data_range"),
    }
    return await registry.register(
        name,
        str(artifact_dir),
        finite_or_none(metrics),
        finite_or_none(data_range),
        code_version,
        make_current=make_current,
    )
