"""Analytics quality, with baselines in the same run:
1. CDNOW BG/NBD + Gamma-Gamma parameters vs the published values (standard 2,357
   customer sample, calibration to 1997-09-30);
2. repeat purchases predicted vs actual in a holdout (the public file ends at 1997-09-30,
   so: calibrate to 1997-06-30, score the 13 weeks after), vs a naive baseline
   (each customer's calibration rate x holdout length);
3. Hillstrom uplift: Qini coefficient on a 30 % test split with a bootstrap CI, vs random
   targeting (same resamples);
4. silhouette of the k chosen for RFM KMeans (Online Retail) vs the worst k tried.

    python benchmarks/analytics_quality.py [--quick]
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

from actors.analytics.clv.models import BetaGeoModel, GammaGammaModel
from actors.analytics.clv.summary import calibration_summary, holdout_purchases
from actors.analytics.datasets import (
    cdnow_sample_ids,
    read_cdnow,
    read_hillstrom,
    read_online_retail,
)
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

    print("\n2. Holdout repeat purchases (calibrate to 1997-06-30, holdout 13 weeks)")
    print(f"{'data':12s} {'actual':>8s} {'BG/NBD':>9s} {'error':>7s} {'naive':>9s} "
          f"{'error':>7s} {'|err| naive/BGNBD':>18s}")
    for name, data in (("sample", sample), ("full cohort", tx)):
        cal = calibration_summary(data, "1997-06-30")
        actual = holdout_purchases(data, "1997-06-30", "1997-09-30", cal.index).sum()
        weeks = 92 / 7
        pred = BetaGeoModel().fit(cal).conditional_expected_purchases(
            weeks, cal["frequency"], cal["recency"], cal["T"]).sum()
        naive = (cal["frequency"] / cal["T"].clip(lower=1) * weeks).sum()
        e_m, e_n = pred / actual - 1, naive / actual - 1
        print(f"{name:12s} {actual:8.0f} {pred:9.1f} {e_m:+7.1%} {naive:9.1f} {e_n:+7.1%} "
              f"{abs(e_n) / max(abs(e_m), 1e-9):18.1f}")


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    clv_section()
    uplift_section(args.quick, args.seed)
    segment_section(args.quick, args.seed)
    print(f"\nwall {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
