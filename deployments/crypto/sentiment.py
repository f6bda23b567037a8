"""Sentiment ingest: texts scored with VADER (plus a finance lexicon), stored in the
TimeSeries, and their hourly aggregates, which models with sentiment features read."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pandas as pd

from actors.crypto.errors import CryptoError
from actors.crypto.stores import CryptoStores, bucket_scores
from actors.crypto.symbols import normalize_symbol

LABELS = {0: "bearish", 1: "bullish", 2: "neutral"}  # actors.crypto.sentiment's label codes


class SentimentIngest:
    def __init__(self, data: CryptoStores) -> None:
        self.data = data
        self._scorer: Any = None  # actors.crypto.sentiment.SentimentScorer, made on first use

    async def add(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Score ``{"timestamp", "symbol", "text"}`` items and store the scores."""
        if self._scorer is None:
            from actors.crypto.sentiment import SentimentScorer

            self._scorer = await asyncio.to_thread(SentimentScorer)
        scorer = self._scorer
        scored = [_scored(i, item, scorer) for i, item in enumerate(items)]
        stored = await self.data.write_sentiment(
            [{**s, "label": scorer.label(s["compound"])} for s in scored]
        )
        return {
            "stored": stored,
            "items": [{k: v for k, v in s.items() if k != "text"} for s in scored],
            "hourly": _hourly(scored),
        }


def _scored(i: int, item: dict[str, Any], scorer: Any) -> dict[str, Any]:
    try:
        moment = pd.Timestamp(item["timestamp"])
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"item {i}: unreadable timestamp {item['timestamp']!r}") from exc
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    compound = scorer.score(str(item["text"]))
    return {
        "timestamp": moment.isoformat(),
        "symbol": normalize_symbol(item["symbol"], supported=None),
        "text": str(item["text"]),
        "compound": compound,
        "label": LABELS[scorer.label(compound)],
    }


def _hourly(scored: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Mean compound score and count per symbol and hour."""
    buckets: dict[str, list[dict[str, Any]]] = {}
    frame = pd.DataFrame(scored)
    if frame.empty:
        return buckets
    for sym, group in frame.groupby("symbol"):
        agg = bucket_scores(
            list(pd.to_datetime(group["timestamp"], utc=True)), list(group["compound"]), "1h",
        )
        buckets[str(sym)] = [
            {"bucket": t.isoformat(), "compound_mean": float(mean), "count": int(n)}
            for t, mean, n in zip(agg.index, agg["compound_mean"], agg["count"], strict=True)
        ]
    return buckets
