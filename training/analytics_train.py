"""Fit the marketing analytics models in parallel as Ray tasks and write versioned
artifacts plus a metrics file.

    python -m training.analytics_train --out artifacts/analytics [--data-dir DIR]
        [--seed 0] [--quick] [--task-cpus 0.5]

Submit as a Ray job with the same command line (`ray job submit -- python -m ...`); with
no RAY_ADDRESS it starts a local Ray. `--register` registers every model in the
ModelRegistry (settings' Database; artifacts under data_dir/models/analytics), where the
analytics deployment picks up the new current versions. Each task is a pure function
of (data dir, seed) that returns (name, kind, model, metrics); the driver saves them with
`actors.analytics.persistence.save_model`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from config.workloads import batch_options
from storage.records.models import ModelRegistry
from training.ray_connect import init_address, init_local

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "marketing"
Result = tuple[str, str, Any, dict[str, Any]]


def fit_clv(data_dir: str, seed: int, quick: bool) -> Result:
    from actors.analytics.clv.value import CLVModel
    from actors.analytics.datasets import read_cdnow

    tx = read_cdnow(Path(data_dir) / "rfm_clv" / "CDNOW_master.txt")
    model = CLVModel().fit(tx, "1997-09-30")
    metrics = {"bgnbd_ll": model.bgnbd.log_likelihood, "gg_ll": model.gamma_gamma.log_likelihood,
               **{f"bgnbd_{k}": v for k, v in model.bgnbd.params.items()},
               **{f"gg_{k}": v for k, v in model.gamma_gamma.params.items()}}
    return "clv_cdnow", "bgnbd_gamma_gamma", model, metrics


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


def jobs() -> list[tuple[Callable[..., Result], tuple[Any, ...]]]:
    from actors.analytics.uplift import HILLSTROM_OUTCOMES, HILLSTROM_TREATMENTS

    out: list[tuple[Callable[..., Result], tuple[Any, ...]]] = [
        (fit_clv, ()), (fit_propensity, ()), (fit_segments, ()), (fit_mmm, ())]
    out += [(fit_uplift, (tr, oc)) for tr in HILLSTROM_TREATMENTS for oc in HILLSTROM_OUTCOMES]
    return out


def train_all(data_dir: Path, out: Path, seed: int = 0, quick: bool = False,
              task_cpus: float = 0.5) -> dict[str, Any]:
    """Run every fit as a Ray task; save artifacts under `out`; return the metrics."""
    import ray

    from actors.analytics.persistence import save_model

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):  # a Ray job's driver: exactly the job's cluster
            init_address(os.environ["RAY_ADDRESS"])
        else:
            init_local(os.cpu_count() or 2)
    started = time.perf_counter()
    # batch work (config.workloads): task_cpus slots of the batch pool each
    options = batch_options(task_cpus, ray.cluster_resources())
    refs = [ray.remote(fn).options(**options).remote(str(data_dir), seed, quick, *args)
            for fn, args in jobs()]
    summary: dict[str, Any] = {"seed": seed, "quick": quick, "models": {}}
    for name, kind, model, metrics in ray.get(refs):
        info = save_model(model, out, name, kind, metrics=metrics, params={"seed": seed})
        summary["models"][name] = {"path": str(info.path), "version": info.metadata["version"],
                                   "kind": kind, "metrics": metrics}
    summary["wall_seconds"] = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=str))
    return summary


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
                           data_dir: Path | None = None) -> dict[str, int]:
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
             "kind": entry["kind"]},
            commit,
        )
        versions[name] = model.version
    return versions


async def _register(summary: dict[str, Any], data_dir: Path) -> dict[str, int]:
    from config.settings import load_settings
    from storage.stores import open_stores

    settings = load_settings()
    stores = open_stores(settings, via_ray=True)
    await stores.database.connect()
    try:
        await stores.database.migrate()
        return await register_summary(ModelRegistry(stores.database), summary, data_dir)
    finally:
        await stores.database.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None,
                        help="artifact folder (default artifacts/analytics)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--task-cpus", type=float, default=0.5)
    parser.add_argument("--register", action="store_true",
                        help="register the models in the ModelRegistry of the configured "
                             "Database (artifacts under data_dir/models/analytics unless "
                             "--out is given)")
    args = parser.parse_args(argv)
    out = args.out
    if args.register and out is None:
        from config.settings import load_settings

        out = load_settings().data_dir / "models" / "analytics"
    out = out or Path("artifacts/analytics")
    summary = train_all(args.data_dir, out, args.seed, args.quick, args.task_cpus)
    registered = asyncio.run(_register(summary, args.data_dir)) if args.register else {}
    for name, entry in sorted(summary["models"].items()):
        tag = f"v{registered[name]}" if name in registered else ""
        print(f"{name:32s} {entry['kind']:30s} {tag:5s} {entry['path']}")
    print(f"wall {summary['wall_seconds']:.1f}s; metrics in {out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
