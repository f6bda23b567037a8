"""Analytics quality, with baselines in the same run:
1. CDNOW BG/NBD + Gamma-Gamma parameters vs the published values (standard 2,357
   customer sample, calibration to 1997-09-30);
2. CDNOW hold-out at the longest split the data allows (the classic 39-week calibration /
   39-week hold-out when the file reaches 1998-06-30; the public file ends 1997-09-30, so
   there: calibrate until every customer of the cohort was acquired, 1997-03-31, and hold
   out the 26 weeks after; the earlier 13-week window is kept beside it): aggregate
   repeat purchases, per-customer MAE/RMSE, and the conditional expectation by
   calibration frequency, BG/NBD vs a naive baseline (each customer's calibration rate x
   hold-out length);
3. Hillstrom uplift: Qini coefficient on a 30 % test split with a bootstrap CI, vs random
   targeting (same resamples);
4. silhouette of the k chosen for RFM KMeans (Online Retail) vs the worst k tried;
5. the budget allocator vs a random feasible search (4,000 points, another seed) on every
   media-mix series under shared/data/marketing/mmm, +/-50 % bounds around the recent
   weekly spend;
6. degenerate BG/NBD detection on Online Retail (CDNOW for contrast), with the hold-out
   forecasts of the degenerate BG/NBD, its NBD fallback and the naive baseline.

No default is tuned here: the allocator's starts/search size and the degeneracy
thresholds were fixed before these runs.

    python benchmarks/analytics_quality.py [--quick] [--only clv,uplift,segments,alloc,degenerate]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.analytics.allocator import allocate_budget, random_feasible
from actors.analytics.clv.models import BetaGeoModel, GammaGammaModel, NBDModel, degenerate_bgnbd
from actors.analytics.clv.summary import calibration_summary, holdout_purchases
from actors.analytics.datasets import (
    cdnow_sample_ids,
    read_cdnow,
    read_hillstrom,
    read_online_retail,
    read_robyn_weekly,
)
from actors.analytics.mmm import ROBYN_CHANNELS, MediaMixModel, robyn_controls
from actors.analytics.qini import bootstrap_qini
from actors.analytics.rfm import compute_rfm_pandas
from actors.analytics.segments import fit_kmeans_segments
from actors.analytics.uplift import (
    HILLSTROM_OUTCOMES,
    HILLSTROM_TREATMENTS,
    candidate_models,
    hillstrom_experiment,
    select_uplift_model,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "marketing"
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74,
             "v": 15.45}


def clv_section() -> None:
    tx = read_cdnow(DATA / "rfm_clv" / "CDNOW_master.txt")
    sample = tx[tx["customer_id"].isin(cdnow_sample_ids())]
    fits = {}
    for name, data in (("sample", sample), ("full cohort", tx)):
        summ = calibration_summary(data, "1997-09-30")
        fits[name] = {**BetaGeoModel().fit(summ).params, **GammaGammaModel().fit(summ).params}
    print("\n1. CDNOW parameters (calibration 1997-01-01..1997-09-30)")
    print(f"{'param':6s} {'published':>10s} {'sample fit':>11s} {'|diff|':>8s} "
          f"{'full-cohort fit':>16s} {'|diff|':>8s}")
    for k, v in PUBLISHED.items():
        s, f = fits["sample"][k], fits["full cohort"][k]
        print(f"{k:6s} {v:10.3f} {s:11.4f} {abs(s - v):8.4f} {f:16.4f} {abs(f - v):8.4f}")

    holdout_section(tx, sample)


def _errors(pred: np.ndarray, actual: np.ndarray) -> tuple[float, float, float]:
    """aggregate error (sum), MAE, RMSE per customer."""
    return (float(pred.sum() / actual.sum() - 1), float(np.abs(pred - actual).mean()),
            float(np.sqrt(((pred - actual) ** 2).mean())))


def holdout_splits(tx: pd.DataFrame) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """(label, calibration end, hold-out end): the longest split the data allows, and
    the 13-week one reported before."""
    end = tx["timestamp"].max().normalize()
    if end >= pd.Timestamp("1998-06-30"):
        longest = ("39/39 wk (classic)", pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30"))
    else:  # every customer acquired in calibration: it ends at the last first purchase
        cal = tx.groupby("customer_id")["timestamp"].min().max().normalize()
        weeks = (end - cal).days / 7
        longest = (f"longest: {(cal - tx['timestamp'].min()).days / 7:.0f}/{weeks:.0f} wk",
                   cal, end)
    short = ("13 wk (before)", end - pd.Timedelta(days=92), end)
    return [longest, short]


def holdout_section(tx: pd.DataFrame, sample: pd.DataFrame) -> None:
    splits = holdout_splits(tx)
    print(f"\n2. Hold-out repeat purchases (data {tx['timestamp'].min():%Y-%m-%d}.."
          f"{tx['timestamp'].max():%Y-%m-%d}); naive = calibration rate x hold-out weeks")
    print(f"{'split':20s} {'data':12s} {'actual':>7s} {'BG/NBD':>8s} {'agg err':>8s} "
          f"{'naive':>8s} {'agg err':>8s} {'MAE bg':>7s} {'MAE nv':>7s} {'RMSE bg':>8s} "
          f"{'RMSE nv':>8s}")
    tables = {}
    for label, cal_end, ho_end in splits:
        for name, data in (("sample", sample), ("full cohort", tx)):
            cal = calibration_summary(data, cal_end)
            actual = holdout_purchases(data, cal_end, ho_end, cal.index).to_numpy()
            weeks = (ho_end - cal_end).days / 7
            fit = BetaGeoModel().fit(cal)
            pred = np.asarray(fit.conditional_expected_purchases(
                weeks, cal["frequency"], cal["recency"], cal["T"]))
            naive = (cal["frequency"] / cal["T"].clip(lower=1) * weeks).to_numpy()
            eb, nb = _errors(pred, actual), _errors(naive, actual)
            flag = " (degenerate)" if degenerate_bgnbd(fit.params, float(cal["T"].max())) else ""
            print(f"{label:20s} {name:12s} {actual.sum():7.0f} {pred.sum():8.1f} "
                  f"{eb[0]:+8.1%} {naive.sum():8.1f} {nb[0]:+8.1%} {eb[1]:7.3f} {nb[1]:7.3f} "
                  f"{eb[2]:8.3f} {nb[2]:8.3f}{flag}")
            bucket = np.minimum(cal["frequency"].to_numpy(dtype=int), 7)
            tables[(label, name)] = pd.DataFrame(
                {"x": bucket, "actual": actual, "bgnbd": pred, "naive": naive}).groupby("x")\
                .agg(customers=("actual", "size"), actual=("actual", "mean"),
                     bgnbd=("bgnbd", "mean"), naive=("naive", "mean"))
    label = splits[0][0]
    for name in ("sample", "full cohort"):
        table = tables[(label, name)]
        print(f"\n   conditional expectation by calibration frequency, {label}, {name}")
        print(f"   {'x':>3s} {'customers':>9s} {'actual':>8s} {'BG/NBD':>8s} {'naive':>8s}")
        for x, row in table.iterrows():
            xs = "7+" if x == 7 else str(x)
            print(f"   {xs:>3s} {int(row['customers']):9d} {row['actual']:8.3f} "
                  f"{row['bgnbd']:8.3f} {row['naive']:8.3f}")


def uplift_section(quick: bool, seed: int) -> None:
    frame = read_hillstrom(DATA / "uplift" / "hillstrom.csv")
    bases = ("logistic",) if quick else ("logistic", "gbm")
    n_boot = 100 if quick else 300
    print(f"\n3. Hillstrom uplift, 30 % test split, bootstrap {n_boot}, 95 % CI "
          f"(candidates: {', '.join(bases)} x T-learner/class transformation)")
    print(f"{'treatment':14s} {'outcome':10s} {'chosen':30s} {'Qini':>8s} {'CI':>20s} "
          f"{'random CI':>20s} {'P(<=rand)':>9s}")
    for tr in HILLSTROM_TREATMENTS:
        for oc in HILLSTROM_OUTCOMES:
            x, t, y = hillstrom_experiment(frame, tr, oc)
            idx = np.arange(len(y))
            a, b = train_test_split(idx, test_size=0.3, random_state=seed, stratify=2 * t + y)
            sel = select_uplift_model(x.iloc[a], t[a], y[a], candidate_models(seed, bases),
                                      folds=3 if quick else 5, seed=seed)
            r = bootstrap_qini(y[b], t[b], sel.best.predict_uplift(x.iloc[b]), n_boot, seed)
            ci = f"[{r['qini_ci_low']:+.4f},{r['qini_ci_high']:+.4f}]"
            rci = f"[{r['random_qini_ci_low']:+.4f},{r['random_qini_ci_high']:+.4f}]"
            print(f"{tr:14s} {oc:10s} {sel.best.name:30s} {r['qini']:+8.4f} {ci:>20s} "
                  f"{rci:>20s} {r['p_model_le_random']:9.2f}")


def segment_section(quick: bool, seed: int) -> None:
    tx = read_online_retail(DATA / "rfm_clv" / "online_retail_invoices.csv")
    rfm = compute_rfm_pandas(tx, tx["timestamp"].max() + pd.Timedelta(days=1))
    seg = fit_kmeans_segments(rfm, range(2, 6 if quick else 9), seed)
    worst = min(seg.silhouette_by_k, key=lambda k: seg.silhouette_by_k[k])
    print("\n4. KMeans on standardised log-RFM (Online Retail, 3,616 customers)")
    low = seg.silhouette_by_k[worst]
    print(f"chosen k={seg.k} silhouette {seg.silhouette:.4f}; worst k={worst} {low:.4f}; "
          f"ratio {seg.silhouette / low:.2f}")
    print("by k: " + ", ".join(f"{k}:{v:.3f}" for k, v in seg.silhouette_by_k.items()))


MMM_SERIES = {
    "robyn_dt_simulated_weekly (SIMULATED)": (
        "robyn_dt_simulated_weekly.csv", "revenue", list(ROBYN_CHANNELS),
        ["competitor_sales_B", "newsletter", "event1", "event2"]),
    "pymc_marketing_mmm_example (SIMULATED)": (
        "pymc_marketing_mmm_example.csv", "y", ["x1", "x2"], ["event_1", "event_2", "t"]),
    "mma_brand_c_weekly (real, GRPs)": (
        "mma_brand_c_weekly.csv", "eq_volum", ["tvgrp_c", "tvgrp_u"],
        ["disacv_c", "bonusacv", "price_c", "price_e", "price_p", "trustad", "fsi_holi",
         "fsi_non", "fsi_comp", "itemstor", "walmart"]),
}


def _mmm_frame(file: str) -> pd.DataFrame:
    path = DATA / "mmm" / file
    if file.startswith("robyn"):
        return robyn_controls(read_robyn_weekly(path))
    return pd.read_csv(path)


def allocator_section(seed: int, n_search: int = 4000) -> None:
    print(f"\n5. Allocator vs random feasible search ({n_search} points, seed {seed + 12345}; "
          "the allocator's own search uses seed 0), bounds +/-50 % of the weekly spend: "
          "[recent] = mean of the last 13 weeks (the API's default; a channel with none "
          "there leaves one feasible point), [mean] = mean over the series")
    print(f"{'series':47s} {'ch':>2s} {'start':>12s} {'allocator':>12s} {'method':>13s} "
          f"{'SLSQP only':>12s} {'search':>12s} {'alloc-srch':>10s} {'vs start':>9s} "
          f"{'ms':>6s}")
    for name, (file, target, channels, controls) in MMM_SERIES.items():
        path = DATA / "mmm" / file
        if not path.exists():
            print(f"{name:40s} (missing)")
            continue
        frame = _mmm_frame(file)
        model = MediaMixModel().fit(frame, target, channels, controls, seed=seed, starts=4)
        for base, current in (("recent", model.current_weekly_spend),
                              ("mean", {c: float(frame[c].mean()) for c in channels})):
            _allocator_row(f"{name} [{base}]", model, channels, current, seed, n_search)


def _allocator_row(name: str, model: MediaMixModel, channels: list[str],
                   current: dict[str, float], seed: int, n_search: int) -> None:
    bounds = {c: (0.5 * v, 1.5 * v) for c, v in current.items()}
    total = sum(current.values())
    t0 = time.perf_counter()
    res = allocate_budget(model, current, bounds=bounds)
    ms = (time.perf_counter() - t0) * 1000
    lo = np.array([bounds[c][0] for c in channels])
    hi = np.array([bounds[c][1] for c in channels])
    points = random_feasible(lo, hi, total, n_search, np.random.default_rng(seed + 12345))
    best = max(model.weekly_response(dict(zip(channels, x, strict=True))) for x in points)
    gap = res.predicted_response / best - 1 if best else 0.0
    up = res.predicted_response / res.start_response - 1 if res.start_response else 0.0
    opt = res.optimizer_response if res.optimizer_response is not None else float("nan")
    print(f"{name:47s} {len(channels):2d} {res.start_response:12.1f} "
          f"{res.predicted_response:12.1f} {res.method:>13s} {opt:12.1f} {best:12.1f} "
          f"{gap:+10.3%} {up:+9.2%} {ms:6.0f}   (r2 {model.r2:.3f})")


def degenerate_section() -> None:
    print("\n6. Degenerate BG/NBD detection (hold-out: 13 weeks after calibration)")
    print(f"{'data':28s} {'r':>7s} {'alpha':>8s} {'a':>9s} {'b':>9s} {'P(alive) range':>17s} "
          f"{'flagged':>7s} {'actual':>7s} {'BG/NBD':>8s} {'NBD':>8s} {'naive':>8s} "
          f"{'MAE bg':>7s} {'MAE nbd':>7s} {'MAE nv':>7s}")
    retail = read_online_retail(DATA / "rfm_clv" / "online_retail_invoices.csv")
    cdnow = read_cdnow(DATA / "rfm_clv" / "CDNOW_master.txt")
    cases = [("Online Retail to 2011-09-30", retail, "2011-09-30", None),
             ("Online Retail to 2011-06-30", retail, "2011-06-30", "2011-09-30"),
             ("CDNOW to 1997-06-30", cdnow, "1997-06-30", "1997-09-30")]
    for name, tx, cal_end, ho_end in cases:
        cal = calibration_summary(tx, cal_end)
        fit = BetaGeoModel().fit(cal)
        reasons = degenerate_bgnbd(fit.params, float(cal["T"].max()))
        alive = fit.probability_alive(cal["frequency"], cal["recency"], cal["T"])
        p = fit.params
        head = (f"{name:28s} {p['r']:7.3f} {p['alpha']:8.3f} {p['a']:9.3g} {p['b']:9.4g} "
                f"{alive.min():8.5f}..{alive.max():.5f} {'yes' if reasons else 'no':>7s}")
        if ho_end is None:
            print(head)
            continue
        actual = holdout_purchases(tx, cal_end, ho_end, cal.index).to_numpy()
        weeks = (pd.Timestamp(ho_end) - pd.Timestamp(cal_end)).days / 7
        args = (weeks, cal["frequency"], cal["recency"], cal["T"])
        bg = np.asarray(fit.conditional_expected_purchases(*args))
        nbd = np.asarray(NBDModel().fit(cal).conditional_expected_purchases(*args))
        naive = (cal["frequency"] / cal["T"].clip(lower=1) * weeks).to_numpy()
        print(f"{head} {actual.sum():7.0f} {bg.sum():8.1f} {nbd.sum():8.1f} {naive.sum():8.1f} "
              f"{_errors(bg, actual)[1]:7.3f} {_errors(nbd, actual)[1]:7.3f} "
              f"{_errors(naive, actual)[1]:7.3f}")
        for reason in reasons:
            print(f"{'':28s} - {reason}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="clv,uplift,segments,alloc,degenerate")
    args = parser.parse_args()
    only = set(args.only.split(","))
    start = time.perf_counter()
    if "clv" in only:
        clv_section()
    if "uplift" in only:
        uplift_section(args.quick, args.seed)
    if "segments" in only:
        segment_section(args.quick, args.seed)
    if "alloc" in only:
        allocator_section(args.seed)
    if "degenerate" in only:
        degenerate_section()
    print(f"\nwall {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
