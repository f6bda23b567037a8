"""The stored candles and real-time predictions of a symbol, newest ``limit`` of each: what a
chart shows on first load before the WebSocket appends new ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from actors.crypto.errors import CryptoError
from actors.crypto.stores import PREDICTIONS, CryptoStores, finite_or_none
from actors.crypto.symbols import parse_interval
from actors.crypto.synthetic import SYNTHETIC
from deployments.crypto.config import HISTORY_MAX_LIMIT as MAX_LIMIT
from deployments.crypto.config import ServingConfig


class StoredHistory:
    def __init__(self, data: CryptoStores, config: Callable[[], ServingConfig]) -> None:
        self.data = data
        self.config = config

    async def read(self, symbol: str, horizon: object | None, limit: int) -> dict[str, Any]:
        """``{"symbol", "interval", "horizon", "candles", "predictions", "synthetic_data"}``:
        the newest ``limit`` stored candles (oldest first) and the predictions stored for the
        served model of ``horizon`` made at them."""
        if not 1 <= limit <= MAX_LIMIT:
            raise CryptoError(f"limit must be between 1 and {MAX_LIMIT}")
        config = self.config()
        canonical, h, _ = config.request(symbol, horizon)
        frame = await self.data.read_candles(canonical, config.interval, last=limit)
        candles = [
            {"time": t.isoformat(), "open": float(r.open), "high": float(r.high),
             "low": float(r.low), "close": float(r.close), "volume": float(r.volume),
             "source": str(r.source)}
            for t, r in zip(frame.index, frame.itertuples(index=False), strict=True)
        ]
        predictions: list[dict[str, Any]] = []
        if len(frame):
            step = parse_interval(config.interval)
            points = await self.data.timeseries.query(
                PREDICTIONS, frame.index[0].to_pydatetime(),
                (frame.index[-1] + step).to_pydatetime() + timedelta(seconds=1),
                tags={"symbol": canonical, "interval": config.interval, "horizon": str(h)},
            )
            by_time = {p.time: p for p in points}  # one per candle: the newest write
            for moment in sorted(by_time)[-limit:]:
                f = by_time[moment].fields
                ret = f.get("predicted_return")
                predictions.append(finite_or_none({
                    "symbol": canonical, "interval": config.interval, "horizon": h,
                    "as_of": moment.isoformat(), "target_time": str(f.get("target_time", "")),
                    "last_close": f.get("last_close"), "predicted_return": ret,
                    "predicted_close": f.get("predicted_close"), "prob_up": f.get("prob_up"),
                    "direction": "up" if isinstance(ret, int | float) and ret > 0 else "down",
                    "model_version": str(f.get("model_version") or "") or None,
                }))
        return {
            "symbol": canonical, "interval": config.interval, "horizon": h,
            "candles": candles, "predictions": predictions,
            "synthetic_data": bool(candles) and candles[-1]["source"] == SYNTHETIC,
        }
