"""Fitting the marketing analytics models: plain functions of (data dir, seed, quick), one
per model, that a job or a Ray task runs in a process of its own.

:func:`fits` lists them; :func:`fit_and_save` runs one and saves its artifact (so that only
the summary travels back); :func:`register_summary` registers a training run's artifacts in
the ModelRegistry. The analytics training job (:mod:`deployments.analytics.training`) runs
each fit as a Ray task with the suite's batch resources; ``python -m
training.analytics_train`` (a Ray driver) does the same from the command line.

Two kinds of training data:

- the **reference** sets (CDNOW, Online Retail, Hillstrom, Robyn under ``data_dir``): the
  benchmarks, registered under the fixed names of :data:`REFERENCE_NAMES`;
- a **dataset** the user imported (its id is the Warehouse table it went into): the
  transactions, saved by the job as a Parquet file, fit the models transactions can fit
  (:data:`DATASET_ROLES`: CLV, segments, propensity), registered as
  :func:`dataset_model_name` ``(role, dataset_id)``. A fit the dataset is too small for is
  skipped with its reason (:func:`try_fit_and_save`), the others still register.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from storage.records.models import ModelRegistry

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "marketing"
Result = tuple[str, str, Any, dict[str, Any]]
Fit = tuple[Callable[..., Result], tuple[Any, ...]]

REFERENCE = "reference"
"""The dataset id of the reference (benchmark) sets."""
REFERENCE_NAMES: dict[str, str] = {
    "clv": "clv_cdnow",
    "uplift": "uplift_womens_visit",
    "mmm": "mmm_robyn",
    "segments": "segments_online_retail",
    "propensity": "propensity_online_retail",
}
DATASET_ROLES = ("clv", "segments", "propensity")
"""The model roles an imported transactions dataset can train."""


def dataset_model_name(role: str, dataset_id: str) -> str:
    """The registry name of ``role``'s model for ``dataset_id`` (the reference names for
    :data:`REFERENCE`)."""
    return REFERENCE_NAMES[role] if dataset_id == REFERENCE else f"{role}@{dataset_id}"


def clv_metrics(model: Any) -> dict[str, Any]:
    return {"bgnbd_ll": model.bgnbd.log_likelihood, "gg_ll": model.gamma_gamma.log_likelihood,
            **{f"bgnbd_{k}": v for k, v in model.bgnbd.params.items()},
            **{f"gg_{k}": v for k, v in model.gamma_gamma.params.items()},
            "counting_model": model.counting_model_name,
            "warnings": list(model.warnings)}


def fit_clv(data_dir: str, seed: int, quick: bool) -> Result:
    from actors.analytics.clv.value import CLVModel
    from actors.analytics.datasets import read_cdnow

    tx = read_cdnow(Path(data_dir) / "rfm_clv" / "CDNOW_master.txt")
    model = CLVModel().fit(tx, "1997-09-30")
    return "clv_cdnow", "bgnbd_gamma_gamma", model, clv_metrics(model)


def fit_propensity(data_dir: str, seed: int, quick: bool) -> Result:
    from actors.analytics.clv.propensity import PropensityModel
    from actors.analytics.datasets import read_online_retail

    tx = read_online_retail(Path(data_dir) / "rfm_clv" / "online_retail_invoices.csv")
    model = PropensityModel(horizon_days=60, seed=seed).fit(tx)
    return "propensity_online_retail", "hist_gradient_boosting", model, model.metrics


def fit_segments(data_dir: str, seed: int, quick: bool) -> Result:
    import pandas as pd

    from actors.analytics.datasets import read_online_retail
    from actors.analytics.rfm import compute_rfm_pandas
    from actors.analytics.segments import fit_kmeans_segments

    tx = read_online_retail(Path(data_dir) / "rfm_clv" / "online_retail_invoices.csv")
    rfm = compute_rfm_pandas(tx, tx["timestamp"].max() + pd.Timedelta(days=1))
    seg = fit_kmeans_segments(rfm, range(2, 6 if quick else 9), seed)
    metrics = {"k": seg.k, "silhouette": seg.silhouette,
               **{f"silhouette_k{k}": v for k, v in seg.silhouette_by_k.items()}}
    return "segments_online_retail", "kmeans_rfm", seg, metrics


def fit_uplift(data_dir: str, seed: int, quick: bool, treatment: str, outcome: str) -> Result:
    from sklearn.model_selection import train_test_split

    from actors.analytics.datasets import read_hillstrom
    from actors.analytics.qini import bootstrap_qini
    from actors.analytics.uplift import candidate_models, hillstrom_experiment, select_uplift_model

    frame = read_hillstrom(Path(data_dir) / "uplift" / "hillstrom.csv")
    x, t, y = hillstrom_experiment(frame, treatment, outcome)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.3, random_state=seed, stratify=2 * t + y)
    bases = ("logistic",) if quick else ("logistic", "gbm")
    sel = select_uplift_model(x.iloc[tr], t[tr], y[tr], candidate_models(seed, bases),
                              folds=3 if quick else 5, seed=seed)
    boot = bootstrap_qini(y[te], t[te], sel.best.predict_uplift(x.iloc[te]),
                          n_boot=50 if quick else 200, seed=seed)
    metrics = {"model": sel.best.name, **{f"cv_{k}": v for k, v in sel.cv_qini.items()},
               **{f"test_{k}": v for k, v in boot.items()}}
    name = f"uplift_{treatment.split()[0].lower()}_{outcome}"
    return name, sel.best.name, sel.best, metrics


def fit_mmm(data_dir: str, seed: int, quick: bool) -> Result:
    from actors.analytics.datasets import read_robyn_weekly
    from actors.analytics.mmm import ROBYN_CHANNELS, MediaMixModel, robyn_controls

    frame = robyn_controls(read_robyn_weekly(Path(data_dir) / "mmm"
                                             / "robyn_dt_simulated_weekly.csv"))
    model = MediaMixModel().fit(frame, "revenue", ROBYN_CHANNELS,
                                ["competitor_sales_B", "newsletter", "event1", "event2"],
                                seed=seed, starts=2 if quick else 4)
    return "mmm_robyn", "adstock_hill", model, {"r2": model.r2, "mape": model.mape}


def read_dataset(path: str) -> Any:
    """The transactions a training job saved for a dataset (customer_id, timestamp,
    amount)."""
    import pandas as pd

    frame = pd.read_parquet(path)
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame


def fit_dataset_clv(path: str, seed: int, quick: bool, dataset_id: str) -> Result:
    """BG/NBD + Gamma-Gamma on the whole dataset (calibration ends at its last day)."""
    from actors.analytics.clv.value import CLVModel

    tx = read_dataset(path)
    model = CLVModel().fit(tx, tx["timestamp"].max())
    kind = f"{model.counting_model_name}_gamma_gamma"
    return dataset_model_name("clv", dataset_id), kind, model, clv_metrics(model)


def fit_dataset_segments(path: str, seed: int, quick: bool, dataset_id: str) -> Result:
    import pandas as pd

    from actors.analytics.rfm import compute_rfm_pandas
    from actors.analytics.segments import fit_kmeans_segments

    tx = read_dataset(path)
    rfm = compute_rfm_pandas(tx, tx["timestamp"].max() + pd.Timedelta(days=1))
    seg = fit_kmeans_segments(rfm, range(2, 6 if quick else 9), seed)
    metrics = {"k": seg.k, "silhouette": seg.silhouette}
    return dataset_model_name("segments", dataset_id), "kmeans_rfm", seg, metrics


def fit_dataset_propensity(path: str, seed: int, quick: bool, dataset_id: str) -> Result:
    from actors.analytics.clv.propensity import PropensityModel

    model = PropensityModel(horizon_days=60, seed=seed).fit(read_dataset(path))
    return (dataset_model_name("propensity", dataset_id), "hist_gradient_boosting", model,
            model.metrics)


DATASET_FITS: dict[str, Callable[..., Result]] = {
    "clv": fit_dataset_clv, "segments": fit_dataset_segments,
    "propensity": fit_dataset_propensity}


def dataset_fits(dataset_id: str) -> list[Fit]:
    """The fits of an imported dataset: one per role of :data:`DATASET_ROLES`."""
    return [(DATASET_FITS[role], (dataset_id,)) for role in DATASET_ROLES]


def fits() -> list[Fit]:
    from actors.analytics.uplift import HILLSTROM_OUTCOMES, HILLSTROM_TREATMENTS

    out: list[Fit] = [
        (fit_clv, ()), (fit_propensity, ()), (fit_segments, ()), (fit_mmm, ())]
    out += [(fit_uplift, (tr, oc)) for tr in HILLSTROM_TREATMENTS for oc in HILLSTROM_OUTCOMES]
    return out


def fit_and_save(fit: Callable[..., Result], data_dir: str, out: str, seed: int, quick: bool,
                 *args: Any) -> dict[str, Any]:
    """Run one fit and save its artifact under ``out``; the summary entry of the model (its
    ``name``, the artifact ``path`` and ``version``, ``kind``, ``metrics``) and the ``pid``
    of the process that fitted it."""
    from actors.analytics.persistence import save_model

    name, kind, model, metrics = fit(data_dir, seed, quick, *args)
    info = save_model(model, Path(out), name, kind, metrics=metrics, params={"seed": seed})
    return {"name": name, "path": str(info.path), "version": info.metadata["version"],
            "kind": kind, "metrics": metrics, "pid": os.getpid()}


def try_fit_and_save(fit: Callable[..., Result], data_dir: str, out: str, seed: int,
                     quick: bool, *args: Any) -> dict[str, Any]:
    """:func:`fit_and_save`, but a fit the data cannot support (an `AnalyticsError`, e.g.
    too few customers) gives ``{"fit": name, "skipped": reason, "pid": pid}``."""
    from actors.analytics.errors import AnalyticsError

    try:
        return fit_and_save(fit, data_dir, out, seed, quick, *args)
    except AnalyticsError as exc:
        return {"fit": fit.__name__, "skipped": str(exc), "pid": os.getpid()}


def write_summary(out: Path, summary: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=str))


def code_version() -> str:
    """The git commit of this checkout, or the package version outside git."""
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
                             cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        try:
            return f"armillary {version('armillary')}"
        except PackageNotFoundError:
            return "unknown"


def _artifact_uri(path: str) -> str:
    return Path(path).resolve().as_uri()


async def register_summary(registry: ModelRegistry, summary: dict[str, Any],
                           data_dir: Path | None = None,
                           data_range: dict[str, Any] | None = None) -> dict[str, int]:
    """Register every model of a `train_all` summary as the current version of its name
    (artifact URI: the saved directory); returns name -> registered version."""
    versions: dict[str, int] = {}
    commit = code_version()
    for name, entry in sorted(summary["models"].items()):
        model = await registry.register(
            name, _artifact_uri(entry["path"]),
            json.loads(json.dumps(entry["metrics"], default=float)),
            {"data_dir": str(data_dir) if data_dir else None, "seed": summary["seed"],
             "quick": summary["quick"], "artifact_version": entry["version"],
             "kind": entry["kind"], **(data_range or {})},
            commit,
        )
        versions[name] = model.version
    return versions
