from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from actors.analytics.clv.value import CLVModel
from actors.analytics.datasets import read_hillstrom
from actors.analytics.errors import AnalyticsError
from actors.analytics.persistence import latest_version, load_model, save_model
from actors.analytics.report.engine import ReportConfig, ReportData, compute_report, generate_report
from tests.support import shared_data


@pytest.fixture(scope="module")
def data(cdnow_sample: pd.DataFrame) -> ReportData:
    hill = read_hillstrom(shared_data("marketing", "uplift", "hillstrom.csv")).head(6000)
    tx = cdnow_sample.copy()
    tx.loc[tx.index[0], "customer_id"] = "<script>alert(1)</script>"
    return ReportData(transactions=tx, experiment=hill)


def test_report_generation_and_determinism(data: ReportData) -> None:
    cfg = ReportConfig(title="Q3 <review>", seed=7, k_range=(2, 4), bootstrap=20,
                       uplift_folds=2)
    html, pdf, kpis = generate_report(data, cfg)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    text = html.decode()
    assert "Q3 &lt;review&gt;" in text and "<script>alert" not in text
    assert text.count("data:image/png;base64,") >= 5
    assert {"bgnbd_r", "kmeans_k", "holdout_error", "uplift_model", "clv_total"} <= set(kpis)
    again = compute_report(data, cfg)
    other = compute_report(data, cfg)
    assert again.kpis == kpis == other.kpis
    for name, table in again.tables.items():
        pdt.assert_frame_equal(table, other.tables[name])
    html2, pdf2, _ = generate_report(data, cfg)
    assert html2 == html and pdf2 == pdf


def test_report_needs_data() -> None:
    with pytest.raises(AnalyticsError):
        generate_report(ReportData())


def test_save_and_load_round_trip(tmp_path, cdnow_sample: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    model = CLVModel().fit(cdnow_sample, "1997-09-30")
    info = save_model(model, tmp_path, "clv", "bgnbd_gamma_gamma",
                      metrics={"ll": model.bgnbd.log_likelihood}, params=model.bgnbd.params)
    assert info.path == latest_version(tmp_path, "clv")
    loaded, meta = load_model(info.path)
    assert meta["kind"] == "bgnbd_gamma_gamma" and meta["version"] == info.path.name
    pdt.assert_frame_equal(loaded.predict(["4"]), model.predict(["4"]))
    (info.path / "model.joblib").write_bytes(b"tampered")
    with pytest.raises(AnalyticsError, match="hash"):
        load_model(info.path)
    with pytest.raises(AnalyticsError):
        latest_version(tmp_path, "missing")
