"""Report engine: from data + config to (html_bytes, pdf_bytes, kpis).

Sections appear for the data given: transactions -> segments and CLV, experiment ->
uplift, media -> response curves and allocation. Everything random is seeded from
`ReportConfig.seed`, so the same inputs and seed give identical tables and KPIs."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from sklearn.model_selection import train_test_split

from actors.analytics.allocator import allocate_budget
from actors.analytics.clv.summary import calibration_summary, holdout_purchases
from actors.analytics.clv.value import CLVModel
from actors.analytics.errors import AnalyticsError
from actors.analytics.mmm import MediaMixModel
from actors.analytics.qini import bootstrap_qini, qini_curve
from actors.analytics.report import plots
from actors.analytics.rfm import compute_rfm_pandas
from actors.analytics.segments import segment_customers, segment_profiles
from actors.analytics.uplift import candidate_models, hillstrom_experiment, select_uplift_model


@dataclass
class ReportConfig:
    title: str = "Marketing analytics report"
    seed: int = 0
    as_of: str | None = None  # RFM date; default: day after the last transaction
    calibration_end: str | None = None  # CLV; default: as_of - holdout_days
    holdout_days: int = 91
    clv_horizon_weeks: float = 52.0
    discount_rate: float = 0.10
    k_range: tuple[int, int] = (2, 8)
    uplift_treatment: str = "Womens E-Mail"
    uplift_outcome: str = "visit"
    uplift_bases: tuple[str, ...] = ("logistic",)
    uplift_folds: int = 3
    bootstrap: int = 100
    media_target: str = "revenue"
    media_channels: tuple[str, ...] = ()
    media_controls: tuple[str, ...] = ()
    media_bounds: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class ReportData:
    transactions: pd.DataFrame | None = None  # customer_id, timestamp, amount
    rfm: pd.DataFrame | None = None  # optional, e.g. from the warehouse (rfm.compute_rfm)
    experiment: pd.DataFrame | None = None  # Hillstrom layout
    media: pd.DataFrame | None = None  # weekly spend + target


@dataclass
class Section:
    title: str
    figures: dict[str, Figure] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class ReportContent:
    title: str
    seed: int
    kpis: dict[str, Any]
    sections: list[Section]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {f"{s.title}/{k}": v for s in self.sections for k, v in s.tables.items()}


def _segments(data: ReportData, cfg: ReportConfig, as_of: pd.Timestamp,
              kpis: dict[str, Any]) -> Section:
    assert data.transactions is not None
    rfm = data.rfm if data.rfm is not None else compute_rfm_pandas(data.transactions, as_of)
    k_lo, k_hi = cfg.k_range
    seg, km = segment_customers(rfm, range(k_lo, k_hi + 1), cfg.seed)
    named = segment_profiles(seg, "segment")
    clusters = segment_profiles(seg, "cluster")
    kpis.update({"customers": len(rfm), "kmeans_k": km.k,
                 "kmeans_silhouette": round(km.silhouette, 6),
                 "champions_share": round(float((seg["segment"] == "Champions").mean()), 6)})
    return Section(
        "Customer segments",
        {"segment_sizes": plots.segment_sizes(named),
         "cluster_profiles": plots.cluster_profiles(clusters)},
        {"RFM segments": named, "KMeans clusters": clusters},
    )


def _clv(data: ReportData, cfg: ReportConfig, as_of: pd.Timestamp,
         kpis: dict[str, Any]) -> Section:
    tx = data.transactions
    assert tx is not None
    cal_end = (pd.Timestamp(cfg.calibration_end) if cfg.calibration_end
               else as_of - pd.Timedelta(days=cfg.holdout_days + 1))
    model = CLVModel().fit(tx[tx["timestamp"].dt.normalize() <= cal_end], cal_end)
    table = model.predict(horizon=cfg.clv_horizon_weeks, discount_rate=cfg.discount_rate)
    section = Section("Customer lifetime value")
    section.figures["clv_distribution"] = plots.clv_distribution(table["clv"])
    kpis.update({f"bgnbd_{k}": round(v, 6) for k, v in model.bgnbd.params.items()})
    kpis["clv_counting_model"] = model.counting_model_name
    if model.warnings:
        section.tables["CLV model warnings"] = pd.DataFrame({"warning": model.warnings})
    kpis.update({f"gamma_gamma_{k}": round(v, 6) for k, v in model.gamma_gamma.params.items()})
    kpis.update({"clv_total": round(float(table["clv"].sum()), 2),
                 "clv_mean": round(float(table["clv"].mean()), 4),
                 "p_alive_mean": (None if table["p_alive"].isna().all()
                                  else round(float(table["p_alive"].mean()), 6))})
    holdout_end = as_of - pd.Timedelta(days=1)
    if holdout_end > cal_end:
        summ = calibration_summary(tx, cal_end)
        actual = holdout_purchases(tx, cal_end, holdout_end, summ.index)
        weeks = (holdout_end - cal_end).days / 7.0
        pred = model.counting_model.conditional_expected_purchases(
            weeks, summ["frequency"], summ["recency"], summ["T"])
        kpis.update({"holdout_actual_purchases": float(actual.sum()),
                     "holdout_predicted_purchases": round(float(pred.sum()), 4),
                     "holdout_error": round(float(pred.sum() / max(actual.sum(), 1) - 1), 6)})
        bucket = np.minimum(summ["frequency"].to_numpy(dtype=int), 7)
        cmp = pd.DataFrame({"calibration_purchases": bucket, "actual": actual.to_numpy(),
                            "predicted": pred}).groupby("calibration_purchases").mean()
        cmp = cmp.reset_index().round(6)
        cmp["calibration_purchases"] = cmp["calibration_purchases"].map(
            lambda v: "7+" if v == 7 else str(v))
        section.figures["calibration_vs_holdout"] = plots.calibration_holdout(cmp)
        section.tables["Holdout purchases by calibration frequency"] = cmp
    top = table.sort_values(["clv"], ascending=False).head(10).reset_index().round(4)
    section.tables["Top customers by CLV"] = top
    return section


def _uplift(data: ReportData, cfg: ReportConfig, kpis: dict[str, Any]) -> Section:
    assert data.experiment is not None
    x, t, y = hillstrom_experiment(data.experiment, cfg.uplift_treatment, cfg.uplift_outcome)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.3, random_state=cfg.seed, stratify=2 * t + y)
    sel = select_uplift_model(x.iloc[tr], t[tr], y[tr],
                              candidate_models(cfg.seed, cfg.uplift_bases),
                              folds=cfg.uplift_folds, seed=cfg.seed)
    u = sel.best.predict_uplift(x.iloc[te])
    boot = bootstrap_qini(y[te], t[te], u, n_boot=cfg.bootstrap, seed=cfg.seed)
    kpis.update({"uplift_model": sel.best.name,
                 **{f"uplift_test_{k}": round(v, 6) for k, v in boot.items()}})
    cv = pd.DataFrame({"model": list(sel.cv_qini), "cv_qini": list(sel.cv_qini.values())})
    return Section(
        f"Campaign uplift: {cfg.uplift_treatment} vs no e-mail ({cfg.uplift_outcome})",
        {"qini": plots.qini({sel.best.name: qini_curve(y[te], t[te], u)})},
        {"Cross-validated Qini": cv.round(6)},
    )


def _media(data: ReportData, cfg: ReportConfig, kpis: dict[str, Any]) -> Section:
    assert data.media is not None
    if not cfg.media_channels:
        raise AnalyticsError("media data given but no media_channels configured")
    mmm = MediaMixModel().fit(data.media, cfg.media_target, cfg.media_channels,
                              cfg.media_controls, seed=cfg.seed)
    alloc = allocate_budget(mmm, mmm.current_weekly_spend, bounds=cfg.media_bounds or None)
    kpis.update({"mmm_r2": round(mmm.r2, 6), "mmm_mape": round(mmm.mape, 6),
                 "allocation_current_response": round(alloc.start_response, 2),
                 "allocation_optimized_response": round(alloc.predicted_response, 2)})
    tab = pd.DataFrame({
        "channel": list(alloc.current),
        "current": list(alloc.current.values()),
        "optimized": list(alloc.allocation.values()),
        "theta": [mmm.curves[c].theta for c in alloc.current],
        "k": [mmm.curves[c].k for c in alloc.current],
        "s": [mmm.curves[c].s for c in alloc.current],
    }).round(4)
    return Section(
        "Media response and budget allocation",
        {"response_curves": plots.response_curves(mmm.response_curves(), alloc.current,
                                                  alloc.allocation),
         "allocation": plots.allocation(alloc.current, alloc.allocation)},
        {"Allocation (weekly spend)": tab},
    )


def compute_report(data: ReportData, config: ReportConfig | None = None) -> ReportContent:
    cfg = config or ReportConfig()
    if data.transactions is None and data.experiment is None and data.media is None:
        raise AnalyticsError("report needs transactions, an experiment or media data")
    kpis: dict[str, Any] = {}
    sections: list[Section] = []
    if data.transactions is not None:
        last = data.transactions["timestamp"].max().normalize()
        as_of = pd.Timestamp(cfg.as_of) if cfg.as_of else last + pd.Timedelta(days=1)
        sections += [_segments(data, cfg, as_of, kpis), _clv(data, cfg, as_of, kpis)]
    if data.experiment is not None:
        sections.append(_uplift(data, cfg, kpis))
    if data.media is not None:
        sections.append(_media(data, cfg, kpis))
    return ReportContent(cfg.title, cfg.seed, kpis, sections)


def _env() -> Environment:
    return Environment(loader=PackageLoader("actors.analytics.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"], default=True))


def render_html(content: ReportContent) -> bytes:
    sections = [
        {
            "title": s.title,
            "figures": [{"name": n, "png": plots.to_png_base64(f)} for n, f in s.figures.items()],
            "tables": [
                {"name": n, "columns": [str(c) for c in t.columns],
                 "rows": [[plots._fmt(v) for v in r] for r in t.itertuples(index=False)]}
                for n, t in s.tables.items()
            ],
        }
        for s in content.sections
    ]
    html = _env().get_template("report.html.j2").render(
        title=content.title, seed=content.seed, kpis=list(content.kpis.items()),
        sections=sections)
    return html.encode("utf-8")


def render_pdf(content: ReportContent) -> bytes:
    buf = io.BytesIO()
    meta = {"Title": content.title, "CreationDate": None, "ModDate": None, "Producer": None,
            "Creator": None}
    kpi_frame = pd.DataFrame({"KPI": list(content.kpis), "value": list(content.kpis.values())})
    with PdfPages(buf, metadata=meta) as pdf:
        pdf.savefig(plots.table_figure(content.title, kpi_frame))
        for s in content.sections:
            for fig in s.figures.values():
                pdf.savefig(fig)
            for name, tab in s.tables.items():
                pdf.savefig(plots.table_figure(f"{s.title}: {name}", tab))
    return buf.getvalue()


def generate_report(
    data: ReportData, config: ReportConfig | None = None
) -> tuple[bytes, bytes, dict[str, Any]]:
    """The report as (html_bytes, pdf_bytes, kpis)."""
    content = compute_report(data, config)
    return render_html(content), render_pdf(content), content.kpis
