"""Report figures. Built on `matplotlib.figure.Figure` (no pyplot, no global state)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

PNG_META = {"Software": None}


def to_png_base64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata=PNG_META, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def segment_sizes(profiles: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    ax.barh(profiles["segment"][::-1], profiles["customers"][::-1], color="#4C72B0")
    ax.set_xlabel("customers")
    ax.set_title("RFM segments")
    return fig


def cluster_profiles(profiles: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(7, 3.5))
    axes = fig.subplots(1, 3)
    for ax, col in zip(axes, ("recency_days", "frequency", "monetary"), strict=True):
        ax.bar(profiles["cluster"].astype(str), profiles[col], color="#55A868")
        ax.set_title(col)
        ax.set_xlabel("cluster")
    fig.suptitle("KMeans cluster profiles (means)")
    fig.tight_layout()
    return fig


def clv_distribution(clv: pd.Series) -> Figure:
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    ax.hist(np.log10(1 + clv.to_numpy()), bins=40, color="#C44E52")
    ax.set_xlabel("log10(1 + CLV)")
    ax.set_ylabel("customers")
    ax.set_title("CLV distribution")
    return fig


def calibration_holdout(table: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    idx = np.arange(len(table))
    ax.bar(idx - 0.2, table["actual"], width=0.4, label="actual")
    ax.bar(idx + 0.2, table["predicted"], width=0.4, label="BG/NBD")
    ax.set_xticks(idx, table["calibration_purchases"].astype(str))
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("mean purchases in holdout")
    ax.legend()
    return fig


def qini(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    for name, (x, q) in curves.items():
        ax.plot(x, q, label=name)
    any_q = next(iter(curves.values()))[1]
    ax.plot([0, 1], [0, any_q[-1]], "k--", label="random")
    ax.set_xlabel("fraction targeted")
    ax.set_ylabel("incremental outcomes")
    ax.set_title("Qini curve (test split)")
    ax.legend()
    return fig


def response_curves(curves: pd.DataFrame, current: dict[str, float],
                    optimized: dict[str, float]) -> Figure:
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    for ch, part in curves.groupby("channel", sort=True):
        line = ax.plot(part["spend"], part["response"], label=str(ch))[0]
        sp = np.interp(current.get(str(ch), 0.0), part["spend"], part["response"])
        ax.plot([current.get(str(ch), 0.0)], [sp], "o", color=line.get_color())
        so = np.interp(optimized.get(str(ch), 0.0), part["spend"], part["response"])
        ax.plot([optimized.get(str(ch), 0.0)], [so], "*", color=line.get_color(), ms=10)
    ax.set_xlabel("weekly spend (o current, * optimised)")
    ax.set_ylabel("weekly response")
    ax.set_title("Response curves")
    ax.legend(fontsize=7)
    return fig


def allocation(current: dict[str, float], optimized: dict[str, float]) -> Figure:
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    names = list(current)
    idx = np.arange(len(names))
    ax.bar(idx - 0.2, [current[n] for n in names], width=0.4, label="current")
    ax.bar(idx + 0.2, [optimized[n] for n in names], width=0.4, label="optimised")
    ax.set_xticks(idx, names)
    ax.set_ylabel("weekly spend")
    ax.legend()
    return fig


def table_figure(title: str, frame: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(8.27, 0.6 + 0.28 * (len(frame) + 1)))
    ax = fig.subplots()
    ax.axis("off")
    ax.set_title(title, loc="left")
    cells = [[_fmt(v) for v in row] for row in frame.itertuples(index=False)]
    tab = ax.table(cellText=cells or [[""] * len(frame.columns)],
                   colLabels=[str(c) for c in frame.columns], loc="upper left")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    return fig


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        number = float(value)
        return f"{number:,.4g}" if abs(number) < 1e4 else f"{number:,.0f}"
    return str(value)
