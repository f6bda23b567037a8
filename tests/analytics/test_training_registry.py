"""Training output registered in the ModelRegistry and served by `ModelSet`: current
version by default, a pinned one on request, a missing artifact a clear error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from actors.analytics.clv.value import CLVModel
from actors.analytics.errors import NotFittedError
from actors.analytics.persistence import save_model
from deployments.analytics.models import ModelSet
from storage.records.models import ModelRegistry
from storage.registry import open_backend
from training.analytics_train import register_summary


async def test_register_summary_and_serve_versions(
    tmp_path: Path, cdnow_sample: pd.DataFrame
) -> None:
    db = open_backend("database", f"sqlite:///{tmp_path}/db.sqlite")
    await db.connect()
    try:
        await db.migrate()
        registry = ModelRegistry(db)
        models = ModelSet(registry, {"clv": "clv_cdnow"}, refresh_s=0.0)
        with pytest.raises(NotFittedError):
            await models.get("clv")
        fitted = CLVModel().fit(cdnow_sample, "1997-09-30")
        summaries = []
        for seed in (0, 1):
            info = save_model(fitted, tmp_path / f"out{seed}", "clv_cdnow", "bgnbd_gamma_gamma",
                              metrics={"bgnbd_ll": fitted.bgnbd.log_likelihood})
            summaries.append({"seed": seed, "quick": True, "models": {"clv_cdnow": {
                "path": str(info.path), "version": info.metadata["version"],
                "kind": "bgnbd_gamma_gamma", "metrics": info.metadata["metrics"]}}})
        assert await register_summary(registry, summaries[0], tmp_path) == {"clv_cdnow": 1}
        assert await register_summary(registry, summaries[1], tmp_path) == {"clv_cdnow": 2}
        current = await registry.current("clv_cdnow")
        assert current is not None and current.version == 2
        assert current.artifact_uri.startswith("file://") and current.code_version
        assert current.data_range["seed"] == 1

        served = await models.get("clv")
        assert served.version.version == 2
        assert served.model.predict(["4"])["clv"].iloc[0] > 0
        models.configure(None, {"clv": 1})
        assert (await models.get("clv")).version.version == 1
        models.configure(None, {"clv": 7})
        with pytest.raises(NotFittedError, match="no version 7"):
            await models.get("clv")
    finally:
        await db.close()
