"""Importing an OHLCV CSV into the TimeSeries and the Warehouse."""

from __future__ import annotations

import asyncio
from typing import Any

from actors.crypto.csv_import import import_ohlcv
from actors.crypto.errors import CsvFormatError
from actors.crypto.stores import CryptoStores, candle_channel
from actors.crypto.symbols import normalize_symbol
from deployments.crypto.history import CandleHistories


class CandleImport:
    def __init__(self, data: CryptoStores, histories: CandleHistories) -> None:
        self.data = data
        self.histories = histories

    async def run(self, data: bytes, symbol: str | None = None, interval: str | None = None,
                  filename: str | None = None) -> dict[str, Any]:
        """Import the file; returns the import report (what was fixed) and how many rows
        each store took. Replicas re-read the symbol's candles (a ``reload`` message)."""
        frame, report = await asyncio.to_thread(import_ohlcv, data, interval=interval or None)
        given = normalize_symbol(symbol, supported=None) if symbol else None
        if given and report.symbol and given != report.symbol:
            raise CsvFormatError(f"the file holds {report.symbol} candles, not {given}")
        canonical = given or report.symbol
        if not canonical:
            raise CsvFormatError("the file has no symbol column: give the symbol field")
        source = f"import:{(filename or 'upload')[:100]}"
        stored = await self.data.write_candles(frame, canonical, report.interval, source)
        await self.data.publish(
            candle_channel(canonical),
            {"type": "reload", "symbol": canonical, "interval": report.interval},
        )
        self.histories.expire(canonical)
        body = report.to_dict()
        body["symbol"] = canonical
        return {
            "symbol": canonical,
            "interval": report.interval,
            "stored": stored,
            "fixed": {k: v for k, v in report.fixes.items() if v},
            "report": body,
        }
