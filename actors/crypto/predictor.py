"""Serving-side predictor: load a sequence-model artifact and forecast from the newest candles.

A Serve deployment holds one :class:`CryptoPredictor` per loaded artifact and calls
:meth:`CryptoPredictor.predict_latest` (one request) or :meth:`CryptoPredictor.predict_batch`
(a ``@serve.batch`` of requests; one model call for all of them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actors.crypto.errors import InvalidHorizonError, UnknownSymbolError
from actors.crypto.sequence import SequenceForecaster
from actors.crypto.symbols import normalize_symbol, parse_interval, validate_horizon


@dataclass(frozen=True)
class Prediction:
    symbol: str
    interval: str
    horizon: int
    as_of: pd.Timestamp  # open time of the newest candle used
    target_time: pd.Timestamp  # close time of the candle the forecast is about
    last_close: float
    predicted_return: float  # log return over the horizon
    predicted_close: float
    prob_up: float
    direction: str
    """The one direction answer: "up" when ``prob_up > 0.5`` (the direction head), else
    "down"."""
    model_version: str | None
    return_direction: str = "flat"
    """Sign of ``predicted_return`` (the return head): "up", "down" or "flat"."""
    heads_agree: bool = True
    direction_note: str = ""
    """What ``direction`` means, and what a disagreement of the two heads means."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        out["target_time"] = self.target_time.isoformat()
        return out


def directions(predicted_return: float, prob_up: float) -> dict[str, Any]:
    """The prediction's direction fields: ``direction`` from the direction head (``prob_up >
    0.5``), ``return_direction`` from the return head's sign, whether they agree, and a note
    saying what they mean."""
    direction = "up" if prob_up > 0.5 else "down"
    ret_dir = "up" if predicted_return > 0 else "down" if predicted_return < 0 else "flat"
    agree = ret_dir == direction
    pct = f"{prob_up:.0%}"
    if agree:
        note = (f"direction is the direction head's answer (P(up) {pct}); the return head's "
                f"expected log return ({predicted_return:+.5f}) points the same way")
    else:
        note = (f"the two heads disagree: P(up) is {pct}, so the direction is {direction}, "
                f"while the expected log return is {predicted_return:+.5f} ({ret_dir}). "
                "P(up) is the chance of any rise; the return is the size-weighted average, "
                "which a few large moves can pull the other way. Treat the call as weak")
    return {"prob_up": prob_up, "direction": direction, "return_direction": ret_dir,
            "heads_agree": agree, "direction_note": note}


class CryptoPredictor:
    """Forecasts of one artifact (one symbol, interval and horizon)."""

    def __init__(self, model: SequenceForecaster, version: str | None = None) -> None:
        self.model = model
        self.version = version or model.metadata.get("version")

    @classmethod
    def load(cls, artifact_dir: str | Path, version: str | None = None) -> CryptoPredictor:
        """Raises ``ArtifactError`` for a missing/incomplete artifact directory."""
        return cls(SequenceForecaster.load(artifact_dir), version)

    @property
    def symbol(self) -> str:
        return self.model.symbol

    @property
    def horizon(self) -> int:
        return self.model.horizon

    @property
    def interval(self) -> str:
        return self.model.interval

    @property
    def required_history(self) -> int:
        """How many of the newest candles a request must supply."""
        return self.model.required_history

    @property
    def metadata(self) -> dict[str, Any]:
        return self.model.metadata

    def check_request(self, symbol: str, horizon: object | None = None) -> None:
        """``UnknownSymbolError`` / ``InvalidHorizonError`` when this artifact cannot answer."""
        canonical = normalize_symbol(symbol, supported=None)
        if canonical != self.symbol:
            raise UnknownSymbolError(f"this model forecasts {self.symbol}, not {canonical}")
        if horizon is not None and validate_horizon(horizon) != self.horizon:
            raise InvalidHorizonError(
                f"this model forecasts {self.horizon} candle(s) ahead, not {horizon}"
            )

    def predict_latest(
        self,
        candles: pd.DataFrame,
        sentiment: pd.DataFrame | None = None,
        *,
        symbol: str | None = None,
        horizon: object | None = None,
    ) -> Prediction:
        """Forecast from the newest candle of ``candles`` (an imported candle frame with at
        least :attr:`required_history` rows). Raises ``InsufficientDataError`` when too short."""
        return self.predict_batch([(candles, sentiment)], symbol=symbol, horizon=horizon)[0]

    def predict_batch(
        self,
        requests: Sequence[tuple[pd.DataFrame, pd.DataFrame | None]],
        *,
        symbol: str | None = None,
        horizon: object | None = None,
    ) -> list[Prediction]:
        """One model call for several ``(candles, sentiment)`` requests."""
        if symbol is not None:
            self.check_request(symbol, horizon)
        elif horizon is not None:
            self.check_request(self.symbol, horizon)
        windows = [self.model.latest_window(c, s) for c, s in requests]
        returns, probs = self.model.predict_windows(np.concatenate(windows))
        step = parse_interval(self.interval)
        out = []
        for (candles, _), ret, prob in zip(requests, returns, probs, strict=True):
            as_of = candles.index[-1]
            last = float(candles["close"].iloc[-1])
            out.append(
                Prediction(
                    symbol=self.symbol,
                    interval=self.interval,
                    horizon=self.horizon,
                    as_of=as_of,
                    target_time=as_of + step * (self.horizon + 1),
                    last_close=last,
                    predicted_return=float(ret),
                    predicted_close=last * math.exp(float(ret)),
                    model_version=self.version,
                    **directions(float(ret), float(prob)),
                )
            )
        return out
