"""The walk-forward backtest stored with each served model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from actors.crypto.registry import read_backtest
from deployments.crypto.config import ServingConfig
from deployments.crypto.errors import NoModelError
from deployments.crypto.formats import iso
from deployments.crypto.models import ModelHolder, skill_label


class Backtests:
    def __init__(self, models: ModelHolder, config: Callable[[], ServingConfig]) -> None:
        self.models = models
        self.config = config

    async def report(self, symbol: str, horizon: object | None = None) -> dict[str, Any]:
        """The walk-forward report stored with the served model (without the per-candle
        forecasts)."""
        config = self.config()
        canonical, h, name = config.request(symbol, horizon)
        record = await self.models.record(name)
        report = await asyncio.to_thread(read_backtest, record.artifact_uri)
        if report is None:
            raise NoModelError(f"{name} v{record.version} has no stored walk-forward report")
        report = {k: v for k, v in report.items() if k != "predictions"}
        verdict, skill = skill_label(record, config.skill_min_improvement)
        return {
            "symbol": canonical,
            "interval": config.interval,
            "horizon": h,
            "model": {
                "name": record.name,
                "version": record.version,
                "registered_at": iso(record.created_at),
                "data_range": record.data_range,
                "code_version": record.code_version,
            },
            "skill": skill,
            "skill_verdict": verdict,
            "synthetic_data": bool(record.data_range.get("synthetic")),
            "report": report,
        }
