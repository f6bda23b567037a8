"""What the routes call on the analytics service
(:class:`deployments.analytics.service.AnalyticsService`)."""

from __future__ import annotations

from typing import Any

from deployments.analytics.errors import ANALYTICS_ERRORS
from deployments.ingress.services import ServiceClient


class AnalyticsClient(ServiceClient):
    name = "analytics"
    errors = ANALYTICS_ERRORS

    async def start_import(self, owner: str, data: bytes, filename: str, table: str,
                           fmt: str | None = None) -> dict[str, Any]:
        return dict(await self._call("start_import", owner, data, filename, table, fmt))

    async def start_sample_import(self, owner: str, table: str | None = None
                                  ) -> dict[str, Any]:
        return dict(await self._call("start_sample_import", owner, table))

    async def segments(self, table: str | None = "transactions",
                       as_of: str | None = None, owner: str | None = None,
                       dataset_id: str | None = None) -> dict[str, Any]:
        return dict(await self._call("segments", table, as_of, owner, dataset_id))

    async def customer_segment(self, customer_id: str, table: str | None = "transactions",
                               as_of: str | None = None, owner: str | None = None,
                               dataset_id: str | None = None) -> dict[str, Any]:
        return dict(await self._call("customer_segment", customer_id, table, as_of, owner,
                                     dataset_id))

    async def customer_clv(self, customer_id: str, horizon_weeks: float = 52.0,
                           discount_rate: float = 0.10, owner: str | None = None,
                           dataset_id: str | None = None) -> dict[str, Any]:
        return dict(await self._call("customer_clv", customer_id, horizon_weeks, discount_rate,
                                     owner, dataset_id))

    async def uplift_scores(self, customers: list[dict[str, Any]],
                            dataset_id: str | None = None) -> dict[str, Any]:
        return dict(await self._call("uplift_scores", customers, dataset_id))

    async def targeting(self, customers: list[dict[str, Any]], budget: float,
                        cost_per_contact: float,
                        value_per_outcome: float | None = None,
                        dataset_id: str | None = None) -> dict[str, Any]:
        return dict(await self._call("targeting", customers, budget, cost_per_contact,
                                     value_per_outcome, dataset_id))

    async def allocate(self, total: float | None, current: dict[str, float] | None = None,
                       bounds: dict[str, tuple[float, float]] | None = None,
                       dataset_id: str | None = None) -> dict[str, Any]:
        return dict(await self._call("allocate", total, current, bounds, dataset_id))

    async def model_versions(self) -> dict[str, Any]:
        return dict(await self._call("model_versions"))

    async def start_training(self, owner: str, quick: bool = False, seed: int = 0,
                             dataset_id: str | None = None) -> dict[str, Any]:
        return dict(await self._call("start_training", owner, quick, seed, dataset_id))

    async def request_report(self, owner: str, table: str | None, options: dict[str, Any]
                             ) -> str:
        return str(await self._call("request_report", owner, table, options))

    async def list_reports(self, limit: int = 50,
                           schedule_id: str | None = None) -> list[dict[str, Any]]:
        return list(await self._call("list_reports", limit, schedule_id))

    async def report_file(self, report_id: str, fmt: str) -> bytes:
        return bytes(await self._call("report_file", report_id, fmt))

    async def create_schedule(self, owner: str, name: str, table: str | None,
                              options: dict[str, Any], interval_s: float,
                              first_run_at: float | None = None) -> dict[str, Any]:
        return dict(await self._call("create_schedule", owner, name, table, options,
                                     interval_s, first_run_at))

    async def list_schedules(self) -> list[dict[str, Any]]:
        return list(await self._call("list_schedules"))

    async def delete_schedule(self, schedule_id: str) -> None:
        await self._call("delete_schedule", schedule_id)
