"""Crypto data in the platform stores: candles, sentiment scores and predictions.

* **Candles** go to the TimeSeries kind (measurement ``candles``, tags ``symbol`` and
  ``interval``, fields ``open, high, low, close, volume``) for market-data queries, and to the
  Warehouse kind (table ``crypto_candles``, a ReplacingMergeTree keyed by symbol, interval and
  time, so writing a candle again replaces it) as the history that models train and predict
  from. The Warehouse row also records where the candle came from (``source``: an import, the
  replay feed, a live exchange, or ``synthetic``).
* **Sentiment** scores go to the TimeSeries (measurement ``sentiment``, tags ``symbol`` and
  ``item`` — a hash of the item, so ingesting the same item twice stores it once).
* **Predictions** go to the TimeSeries (measurement ``predictions``, tags ``symbol``,
  ``interval``, ``horizon``, ``model``; time = the candle the forecast was made at).

Channels on the EventBus: ``crypto.candles.<BASE-QUOTE>`` (each new candle, and a reload hint
after an import) and ``crypto.predictions.<BASE-QUOTE>`` (each real-time prediction).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from actors.crypto.csv_import import CANDLE_COLUMNS
from actors.crypto.feed import Candle
from actors.crypto.symbols import normalize_symbol
from storage.eventbus.base import EventBus
from storage.timeseries.base import Point, TimeSeries, check_name
from storage.warehouse.base import Warehouse

CANDLES = "candles"
SENTIMENT = "sentiment"
PREDICTIONS = "predictions"
CANDLE_TABLE = "crypto_candles"
WRITE_CHUNK = 5000


def symbol_key(symbol: str) -> str:
    """``BTC/USDT`` → ``BTC-USDT`` (for channel names, model names and URLs)."""
    return normalize_symbol(symbol, supported=None).replace("/", "-")


def candle_channel(symbol: str) -> str:
    return f"crypto.candles.{symbol_key(symbol)}"


def prediction_channel(symbol: str) -> str:
    return f"crypto.predictions.{symbol_key(symbol)}"


def _utc(moment: Any) -> pd.Timestamp:
    ts = pd.Timestamp(moment)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def candle_message(candle: Candle, source: str) -> dict[str, Any]:
    """The EventBus message announcing one new candle."""
    return {"type": "candle", "source": source, **candle.to_dict()}


class CryptoStores:
    """Reads and writes crypto data on the platform stores (any backend of each kind)."""

    def __init__(
        self,
        timeseries: TimeSeries,
        warehouse: Warehouse,
        eventbus: EventBus | None = None,
        *,
        table: str = CANDLE_TABLE,
    ) -> None:
        self.timeseries = timeseries
        self.warehouse = warehouse
        self.eventbus = eventbus
        self.table = check_name(table.replace("-", "_").replace(".", "_"))
        self._ready = False

    async def ensure_schema(self) -> None:
        if self._ready:
            return
        await self.warehouse.command(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            " symbol LowCardinality(String), interval LowCardinality(String),"
            " time DateTime64(3, 'UTC'), open Float64, high Float64, low Float64,"
            " close Float64, volume Float64, gap_before UInt8, source String, version UInt64"
            ") ENGINE = ReplacingMergeTree(version) ORDER BY (symbol, interval, time)"
        )
        self._ready = True

    # ------------------------------------------------------------ candles
    async def write_candles(
        self, frame: pd.DataFrame, symbol: str, interval: str, source: str
    ) -> dict[str, int]:
        """Store an imported candle frame (index = open time, OHLCV columns) in both the
        TimeSeries and the Warehouse; returns how many rows each took."""
        await self.ensure_schema()
        symbol = normalize_symbol(symbol, supported=None)
        if frame.empty:
            return {"timeseries": 0, "warehouse": 0}
        tags = {"symbol": symbol, "interval": interval}
        gap = (
            frame["gap_before"].to_numpy(dtype=bool)
            if "gap_before" in frame
            else np.zeros(len(frame), dtype=bool)
        )
        version = time.time_ns()
        times = [_utc(t).to_pydatetime() for t in frame.index]
        values = frame[list(CANDLE_COLUMNS)].to_numpy(dtype=np.float64)
        written_ts = written_wh = 0
        for lo in range(0, len(frame), WRITE_CHUNK):
            hi = min(lo + WRITE_CHUNK, len(frame))
            points = [
                Point(
                    CANDLES,
                    times[i],
                    dict(zip(CANDLE_COLUMNS, map(float, values[i]), strict=True)),
                    tags,
                )
                for i in range(lo, hi)
            ]
            written_ts += await self.timeseries.write(points)
            rows = [
                [symbol, interval, times[i], *map(float, values[i]), int(gap[i]), source, version]
                for i in range(lo, hi)
            ]
            written_wh += await self.warehouse.insert(
                self.table,
                rows,
                ["symbol", "interval", "time", *CANDLE_COLUMNS, "gap_before", "source", "version"],
            )
        return {"timeseries": written_ts, "warehouse": written_wh}

    async def write_candle(self, candle: Candle, source: str, *, gap_before: bool = False) -> None:
        frame = pd.DataFrame(
            [[candle.open, candle.high, candle.low, candle.close, candle.volume, gap_before]],
            columns=[*CANDLE_COLUMNS, "gap_before"],
            index=pd.DatetimeIndex([candle.timestamp], name="timestamp"),
        )
        await self.write_candles(frame, candle.symbol, candle.interval, source)

    async def read_candles(
        self,
        symbol: str,
        interval: str,
        *,
        start: Any = None,
        end: Any = None,
        last: int | None = None,
    ) -> pd.DataFrame:
        """Stored candles with ``start <= time <= end`` (the newest ``last`` of them when
        given), oldest first, as an imported candle frame plus a ``source`` column."""
        await self.ensure_schema()
        conditions = ["symbol = {s:String}", "interval = {i:String}"]
        params: dict[str, Any] = {"s": normalize_symbol(symbol, supported=None), "i": interval}
        if start is not None:
            conditions.append("time >= {start:DateTime64(3, 'UTC')}")
            params["start"] = _utc(start).to_pydatetime()
        if end is not None:
            conditions.append("time <= {end:DateTime64(3, 'UTC')}")
            params["end"] = _utc(end).to_pydatetime()
        sql = (
            f"SELECT time, open, high, low, close, volume, gap_before, source FROM {self.table}"
            f" FINAL WHERE {' AND '.join(conditions)} ORDER BY time DESC"
            + (f" LIMIT {int(last)}" if last is not None else "")
        )
        result = await self.warehouse.query(sql, params)
        return _candle_frame(result.rows[::-1])

    async def candle_range(self, symbol: str, interval: str) -> dict[str, Any] | None:
        """``{"first", "last", "count"}`` of the stored candles, or None when there are none."""
        await self.ensure_schema()
        result = await self.warehouse.query(
            f"SELECT min(time), max(time), count() FROM {self.table} FINAL"
            " WHERE symbol = {s:String} AND interval = {i:String}",
            {"s": normalize_symbol(symbol, supported=None), "i": interval},
        )
        first, last, count = result.rows[0]
        if not count:
            return None
        return {"first": _utc(first), "last": _utc(last), "count": int(count)}

    async def candle_sources(self, symbol: str, interval: str) -> dict[str, int]:
        """How many stored candles came from each ``source`` (e.g. ``{"synthetic": 3000}``)."""
        await self.ensure_schema()
        result = await self.warehouse.query(
            f"SELECT source, count() FROM {self.table} FINAL"
            " WHERE symbol = {s:String} AND interval = {i:String} GROUP BY source",
            {"s": normalize_symbol(symbol, supported=None), "i": interval},
        )
        return {str(source): int(count) for source, count in result.rows}

    async def delete_candles(self, symbol: str, interval: str) -> None:
        """Remove every stored candle of ``symbol``/``interval`` from both stores (a history
        replaced by another data source: synthetic candles once real ones appear)."""
        await self.ensure_schema()
        symbol = normalize_symbol(symbol, supported=None)
        await self.warehouse.command(
            f"ALTER TABLE {self.table} DELETE WHERE symbol = {{s:String}}"
            " AND interval = {i:String} SETTINGS mutations_sync = 2",
            {"s": symbol, "i": interval})
        await self.timeseries.delete(CANDLES, {"symbol": symbol, "interval": interval})

    # ----------------------------------------------------------- sentiment
    async def write_sentiment(self, scored: Sequence[dict[str, Any]]) -> int:
        """Store scored items ``{"timestamp", "symbol", "text", "compound", "label"}``."""
        points = []
        for item in scored:
            moment = _utc(item["timestamp"])
            digest = hashlib.sha256(
                f"{moment.isoformat()}|{item['text']}".encode()
            ).hexdigest()[:16]
            points.append(
                Point(
                    SENTIMENT,
                    moment.to_pydatetime(),
                    {"compound": float(item["compound"]), "label": int(item["label"])},
                    {"symbol": normalize_symbol(item["symbol"], supported=None), "item": digest},
                )
            )
        written = 0
        for lo in range(0, len(points), WRITE_CHUNK):
            written += await self.timeseries.write(points[lo : lo + WRITE_CHUNK])
        return written

    async def sentiment_series(
        self, symbol: str, start: Any, end: Any, *, freq: str = "1h"
    ) -> pd.DataFrame:
        """Stored scores of ``symbol`` in ``[start, end)`` bucketed per ``freq``: the
        ``(bucket → compound_mean, count)`` frame that :func:`actors.crypto.features.
        align_sentiment` takes (the shape of :func:`actors.crypto.sentiment.series_for`)."""
        points = await self.timeseries.query(
            SENTIMENT,
            _utc(start).to_pydatetime(),
            _utc(end).to_pydatetime(),
            tags={"symbol": normalize_symbol(symbol, supported=None)},
        )
        return bucket_scores(
            [p.time for p in points], [float(p.fields["compound"]) for p in points], freq
        )

    # --------------------------------------------------------- predictions
    async def write_prediction(self, prediction: dict[str, Any], model: str) -> None:
        fields: dict[str, float | int | str] = {
            "predicted_return": float(prediction["predicted_return"]),
            "predicted_close": float(prediction["predicted_close"]),
            "prob_up": float(prediction["prob_up"]),
            "last_close": float(prediction["last_close"]),
            "target_time": str(prediction["target_time"]),
            "model_version": str(prediction.get("model_version") or ""),
        }
        await self.timeseries.write(
            [
                Point(
                    PREDICTIONS,
                    _utc(prediction["as_of"]).to_pydatetime(),
                    fields,
                    {
                        "symbol": prediction["symbol"],
                        "interval": prediction["interval"],
                        "horizon": str(prediction["horizon"]),
                        "model": model,
                    },
                )
            ]
        )

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if self.eventbus is not None:
            await self.eventbus.publish(channel, message)


def bucket_scores(times: Sequence[datetime], scores: Sequence[float], freq: str) -> pd.DataFrame:
    """Mean compound score and item count per ``freq`` bucket (bucket = period start, UTC)."""
    if not times:
        return pd.DataFrame(
            columns=["compound_mean", "count"], index=pd.DatetimeIndex([], tz="UTC"), dtype=float
        )
    frame = pd.DataFrame(
        {"time": pd.to_datetime(list(times), utc=True), "compound": np.asarray(scores, float)}
    )
    frame["bucket"] = frame["time"].dt.floor(pd.Timedelta(freq))
    grouped = frame.groupby("bucket")["compound"]
    out = pd.DataFrame({"compound_mean": grouped.mean(), "count": grouped.size().astype(float)})
    out.index.name = "bucket"
    return out.sort_index()


def _candle_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    columns = [*CANDLE_COLUMNS, "gap_before", "source"]
    if not rows:
        index = pd.DatetimeIndex([], tz="UTC", name="timestamp")
        empty = pd.DataFrame(columns=columns, index=index)
        return empty.astype({c: "float64" for c in CANDLE_COLUMNS} | {"gap_before": bool})
    index = pd.DatetimeIndex([_utc(r[0]) for r in rows], name="timestamp")
    frame = pd.DataFrame([list(r[1:]) for r in rows], columns=columns, index=index)
    frame = frame.astype({c: "float64" for c in CANDLE_COLUMNS})
    frame["gap_before"] = frame["gap_before"].astype(bool)
    return frame


def utc_now() -> datetime:
    return datetime.now(UTC)


def finite_or_none(value: Any) -> Any:
    """JSON has no NaN/inf: map them to None (recursively through dicts and lists)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value
