from __future__ import annotations

import json

import pytest

from actors.analytics.persistence import load_model
from tests.support import shared_data


@pytest.mark.ray
def test_train_all_as_ray_tasks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ray = pytest.importorskip("ray")
    from training.analytics_train import train_all

    data_dir = shared_data("marketing")
    try:
        summary = train_all(data_dir, tmp_path, seed=0, quick=True, task_cpus=0.5)
    finally:
        ray.shutdown()
    assert len(summary["models"]) == 8
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["models"].keys() == summary["models"].keys()
    model, meta = load_model(summary["models"]["clv_cdnow"]["path"])
    assert meta["kind"] == "bgnbd_gamma_gamma" and model.bgnbd.params["r"] > 0
    assert summary["models"]["mmm_robyn"]["metrics"]["r2"] > 0.8
