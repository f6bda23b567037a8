"""Text sentiment with VADER and its aggregation into a per-symbol time series.

VADER (``vaderSentiment``) ships its lexicon, so this works offline. Its lexicon is built for
social media; ``FINANCE_LEXICON`` adds market vocabulary (upgrade/downgrade, beats/misses,
surge/plunge, ...) written from general market usage, not fitted to any labelled set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from actors.crypto.errors import CsvFormatError
from actors.crypto.symbols import normalize_symbol

BEARISH, BULLISH, NEUTRAL = 0, 1, 2  # the labels of the Twitter Financial News dataset

FINANCE_LEXICON: dict[str, float] = {
    **dict.fromkeys(("upgrade", "upgrades", "upgraded"), 2.0),
    **dict.fromkeys(("outperform", "outperforms"), 1.8),
    **dict.fromkeys(("beats", "beat", "tops"), 1.5),
    **dict.fromkeys(("surge", "surges", "surged", "soar", "soars", "soared"), 2.0),
    **dict.fromkeys(("rally", "rallies", "rallied", "rebound", "rebounds"), 1.6),
    **dict.fromkeys(("jump", "jumps", "jumped", "climb", "climbs", "climbed"), 1.4),
    **dict.fromkeys(("gain", "gains", "gained", "rise", "rises", "rose"), 1.1),
    **dict.fromkeys(("raises", "raised", "boost", "boosts", "profit", "growth"), 1.2),
    **dict.fromkeys(("bullish", "upbeat"), 2.2),
    **dict.fromkeys(("higher", "record", "highs", "strong", "stronger"), 1.0),
    **dict.fromkeys(("downgrade", "downgrades", "downgraded"), -2.0),
    **dict.fromkeys(("underperform", "underperforms"), -1.8),
    **dict.fromkeys(("misses", "miss", "missed"), -1.5),
    **dict.fromkeys(("plunge", "plunges", "plunged", "tumble", "tumbles", "tumbled"), -2.1),
    **dict.fromkeys(("slump", "slumps", "slumped", "crash", "crashes", "selloff"), -2.1),
    **dict.fromkeys(("drop", "drops", "dropped", "slide", "slides", "slid"), -1.4),
    **dict.fromkeys(("fall", "falls", "fell", "sink", "sinks", "sank"), -1.4),
    **dict.fromkeys(("decline", "declines", "declined", "lowers", "lowered"), -1.3),
    **dict.fromkeys(("cut", "cuts", "slashes", "slashed", "warns", "layoffs"), -1.4),
    **dict.fromkeys(("bearish", "recession", "bankruptcy"), -2.2),
    **dict.fromkeys(("lower", "lows", "loss", "losses", "weak", "weaker", "weakness"), -1.1),
}


class SentimentScorer:
    """VADER compound score in [-1, 1] and a three-way label (bearish/bullish/neutral)."""

    def __init__(self, *, finance_lexicon: bool = True, neutral_band: float = 0.05) -> None:
        self._analyzer = SentimentIntensityAnalyzer()
        if finance_lexicon:
            self._analyzer.lexicon.update(FINANCE_LEXICON)
        self.neutral_band = neutral_band

    def score(self, text: str) -> float:
        return float(self._analyzer.polarity_scores(text or "")["compound"])

    def score_many(self, texts: Iterable[str]) -> np.ndarray:
        return np.array([self.score(t) for t in texts], dtype=float)

    def label(self, compound: float) -> int:
        """``BULLISH`` above the neutral band, ``BEARISH`` below its negative, else ``NEUTRAL``."""
        if compound > self.neutral_band:
            return BULLISH
        if compound < -self.neutral_band:
            return BEARISH
        return NEUTRAL


@dataclass(frozen=True)
class SentimentItem:
    """One piece of text about a symbol, with the UTC time it became public."""

    timestamp: pd.Timestamp
    symbol: str
    text: str


def aggregate_sentiment(
    items: Sequence[SentimentItem],
    *,
    freq: str = "1h",
    scorer: SentimentScorer | None = None,
) -> pd.DataFrame:
    """Score ``items`` and bucket them per symbol and ``freq``.

    Returns a frame indexed by ``(symbol, bucket)`` — ``bucket`` the UTC *start* of the period —
    with ``compound_mean`` and ``count``; periods without items are absent. A bucket is only
    known at its end (``bucket + freq``): :func:`actors.crypto.features.align_sentiment` uses
    that.
    """
    scorer = scorer or SentimentScorer()
    columns = ["compound_mean", "count"]
    if not items:
        empty = pd.MultiIndex.from_arrays(
            [pd.Index([], dtype=object), pd.DatetimeIndex([], tz="UTC")], names=["symbol", "bucket"]
        )
        return pd.DataFrame(columns=columns, index=empty, dtype=float)
    frame = pd.DataFrame(
        {
            "symbol": [normalize_symbol(i.symbol, supported=None) for i in items],
            "timestamp": pd.to_datetime([i.timestamp for i in items], utc=True),
            "compound": scorer.score_many(i.text for i in items),
        }
    )
    frame["bucket"] = frame["timestamp"].dt.floor(pd.Timedelta(freq))
    grouped = frame.groupby(["symbol", "bucket"])["compound"]
    out = pd.DataFrame({"compound_mean": grouped.mean(), "count": grouped.size().astype(float)})
    return out.sort_index()


def series_for(sentiment: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """The ``(bucket → compound_mean, count)`` series of one symbol from
    :func:`aggregate_sentiment` (empty when it has none)."""
    symbol = normalize_symbol(symbol, supported=None)
    if symbol not in sentiment.index.get_level_values("symbol"):
        return pd.DataFrame(
            columns=["compound_mean", "count"], index=pd.DatetimeIndex([], tz="UTC"), dtype=float
        )
    return sentiment.xs(symbol, level="symbol")


@dataclass(frozen=True)
class LabelledEvaluation:
    """Scorer quality on a labelled set (labels: 0 bearish, 1 bullish, 2 neutral)."""

    n: int
    accuracy: float
    majority_label: int
    majority_accuracy: float
    accuracy_p_value: float  # one-sided binomial test: accuracy > majority_accuracy
    balanced_accuracy: float  # mean per-class recall; the majority baseline scores 1/3
    polar_n: int  # items labelled bullish/bearish that the scorer did not call neutral
    polar_accuracy: float  # sign agreement on those
    polar_majority_accuracy: float
    polar_p_value: float  # one-sided binomial test: polar_accuracy > polar_majority_accuracy


def evaluate_labelled(
    path: str | Path, scorer: SentimentScorer | None = None
) -> LabelledEvaluation:
    """Score a ``text,label`` CSV and compare with the majority-class baseline."""
    try:
        data = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as exc:
        raise CsvFormatError(f"cannot read labelled set {path}: {exc}") from exc
    if not {"text", "label"} <= set(data.columns):
        raise CsvFormatError(f"labelled set needs columns text,label; has {list(data.columns)}")
    scorer = scorer or SentimentScorer()
    labels = data["label"].to_numpy(dtype=int)
    compound = scorer.score_many(data["text"].astype(str))
    predicted = np.array([scorer.label(c) for c in compound])
    n = len(labels)
    hits = int((predicted == labels).sum())
    counts = np.bincount(labels, minlength=3)
    majority = int(counts.argmax())
    majority_acc = float(counts[majority] / n)
    recalls = [float((predicted[labels == k] == k).mean()) for k in range(3) if counts[k]]
    polar = (labels != NEUTRAL) & (predicted != NEUTRAL)
    polar_labels = labels[polar]
    polar_counts = np.bincount(polar_labels, minlength=2)[:2]
    polar_hits = int((predicted[polar] == polar_labels).sum())
    polar_majority = float(polar_counts.max() / polar_counts.sum()) if polar.any() else 0.5
    return LabelledEvaluation(
        n=n,
        accuracy=hits / n,
        majority_label=majority,
        majority_accuracy=majority_acc,
        accuracy_p_value=float(
            stats.binomtest(hits, n, majority_acc, alternative="greater").pvalue
        ),
        balanced_accuracy=float(np.mean(recalls)),
        polar_n=int(polar.sum()),
        polar_accuracy=polar_hits / max(int(polar.sum()), 1),
        polar_majority_accuracy=polar_majority,
        polar_p_value=(
            float(stats.binomtest(polar_hits, int(polar.sum()), polar_majority, "greater").pvalue)
            if polar.any()
            else 1.0
        ),
    )
