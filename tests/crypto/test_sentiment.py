from __future__ import annotations

import pandas as pd
import pytest

from actors.crypto.errors import CsvFormatError
from actors.crypto.sentiment import (
    BEARISH,
    BULLISH,
    NEUTRAL,
    SentimentItem,
    SentimentScorer,
    aggregate_sentiment,
    evaluate_labelled,
    series_for,
)
from tests.support import shared_data


def test_scorer_polarity_and_labels() -> None:
    scorer = SentimentScorer()
    assert scorer.score("Bitcoin surges to a record high, great news") > 0.5
    assert scorer.score("Exchange hacked, ether plunges in a terrible crash") < -0.5
    assert scorer.label(scorer.score("Bitcoin price update at noon")) == NEUTRAL
    assert scorer.label(0.6) == BULLISH and scorer.label(-0.6) == BEARISH
    plain = SentimentScorer(finance_lexicon=False)
    assert plain.score("Analyst downgrades Coinbase") == 0.0
    assert scorer.score("Analyst downgrades Coinbase") < 0


def test_aggregate_hourly_mean_and_count() -> None:
    t = pd.Timestamp("2021-03-01 10:05", tz="UTC")
    items = [
        SentimentItem(t, "btcusdt", "great gain"),
        SentimentItem(t + pd.Timedelta(minutes=30), "BTC/USDT", "awful loss"),
        SentimentItem(t + pd.Timedelta(hours=2), "BTC/USDT", "great gain"),
        SentimentItem(t, "ETH/USDT", "nothing"),
    ]
    agg = aggregate_sentiment(items)
    btc = series_for(agg, "BTC-USDT")
    assert list(btc.index) == [
        pd.Timestamp("2021-03-01 10:00", tz="UTC"),
        pd.Timestamp("2021-03-01 12:00", tz="UTC"),
    ]
    assert btc["count"].tolist() == [2.0, 1.0]
    scorer = SentimentScorer()
    expected = (scorer.score("great gain") + scorer.score("awful loss")) / 2
    assert btc["compound_mean"].iloc[0] == pytest.approx(expected)
    assert series_for(agg, "XRP/USDT").empty
    assert aggregate_sentiment([]).empty


def test_scorer_on_the_real_labelled_finance_tweets() -> None:
    result = evaluate_labelled(
        shared_data("crypto", "sentiment", "twitter_financial_news_sent_train.csv")
    )
    assert result.n == 9543
    assert result.majority_label == NEUTRAL
    assert result.majority_accuracy == pytest.approx(0.6474, abs=1e-3)
    # Three-way accuracy does NOT beat always-neutral (64.7 %) on this neutral-heavy set:
    # that is VADER's known weakness, kept visible here rather than hidden.
    assert result.accuracy < result.majority_accuracy
    # What it does: a balanced accuracy well above the majority rule's 1/3, and the right
    # sign on the polar (bullish/bearish) items far above their majority class.
    assert result.balanced_accuracy > 0.5
    assert result.polar_accuracy > result.polar_majority_accuracy + 0.15
    assert result.polar_p_value < 1e-12
    plain = evaluate_labelled(
        shared_data("crypto", "sentiment", "twitter_financial_news_sent_train.csv"),
        SentimentScorer(finance_lexicon=False),
    )
    assert result.accuracy > plain.accuracy and result.balanced_accuracy > plain.balanced_accuracy


def test_scorer_on_the_real_crypto_headlines() -> None:
    path = shared_data("crypto", "sentiment", "crypto_headlines_labeled.csv")
    plain = evaluate_labelled(path, SentimentScorer(finance_lexicon=False))
    assert plain.n == 39
    assert plain.accuracy > plain.majority_accuracy  # 28/39 vs 27/39: not significant
    assert plain.accuracy_p_value > 0.05


def test_bad_labelled_file(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("words,score\nhello,1\n")
    with pytest.raises(CsvFormatError):
        evaluate_labelled(bad)
