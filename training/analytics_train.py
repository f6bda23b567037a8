"""Fit the marketing analytics models in parallel as Ray tasks and write versioned
artifacts plus a metrics file.

    python -m training.analytics_train --out artifacts/analytics [--data-dir DIR]
        [--seed 0] [--quick] [--task-cpus 0.5]

Submit as a Ray job with the same command line (`ray job submit -- python -m ...`); with
no RAY_ADDRESS it starts a local Ray. `--register` registers every model in the
ModelRegistry (settings' Database; artifacts under data_dir/models/analytics), where the
analytics deployment picks up the new current versions. Each task runs one fit of
:mod:`actors.analytics.training` (a pure function of data dir, seed and quick) and saves its
artifact; the analytics training job (:mod:`deployments.analytics.training`) runs the same
fits as Ray tasks from a job, which is how the API trains.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

from actors.analytics.training import (
    DEFAULT_DATA,
    code_version,
    fit_and_save,
    fits,
    register_summary,
    write_summary,
)
from config.workloads import batch_options
from storage.records.models import ModelRegistry
from training.ray_connect import init_address, init_local

__all__ = ["DEFAULT_DATA", "code_version", "main", "register_summary", "train_all"]


def train_all(data_dir: Path, out: Path, seed: int = 0, quick: bool = False,
              task_cpus: float = 0.5) -> dict[str, Any]:
    """Run every fit (:func:`actors.analytics.training.fits`) as a Ray task that saves its
    artifact under `out`; return the metrics."""
    import ray

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):  # a Ray job's driver: exactly the job's cluster
            init_address(os.environ["RAY_ADDRESS"])
        else:
            init_local(os.cpu_count() or 2)
    started = time.perf_counter()
    # batch work (config.workloads): task_cpus slots of the batch pool each
    options = batch_options(task_cpus, ray.cluster_resources())
    refs = [ray.remote(fit_and_save).options(**options).remote(
        fn, str(data_dir), str(out), seed, quick, *args) for fn, args in fits()]
    summary: dict[str, Any] = {"seed": seed, "quick": quick, "models": {}}
    for entry in ray.get(refs):
        summary["models"][entry.pop("name")] = {k: v for k, v in entry.items() if k != "pid"}
    summary["wall_seconds"] = time.perf_counter() - started
    write_summary(out, summary)
    return summary


async def _register(summary: dict[str, Any], data_dir: Path) -> dict[str, int]:
    from config.settings import load_settings
    from storage.stores import open_stores

    settings = load_settings()
    stores = open_stores(settings, via_ray=True)
    await stores.database.connect()
    try:
        await stores.database.migrate()
        registry = ModelRegistry(stores.database, settings.model_keep_versions)
        return await register_summary(registry, summary, data_dir)
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
