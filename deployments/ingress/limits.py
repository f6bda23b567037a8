"""Bounds of the numbers the API accepts. Every integer and number a route takes has a
minimum and a maximum (tests/deployments/test_api_contract.py checks the OpenAPI schema),
so a huge or negative value is a 422, never an overflow deeper down."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Response
from pydantic import AfterValidator, StringConstraints

MAX_OFFSET = 10_000_000
"""Paging offsets: far beyond any listing, well inside a 64-bit database integer."""
MAX_SEED = 2**32 - 1
"""Random seeds: what numpy's generators accept."""
MAX_AMOUNT = 1e12
"""Money and spend figures."""
MAX_EPOCH_S = 1e11
"""Times in epoch seconds (the year 5138)."""

MIN_YEAR, MAX_YEAR = 1900, 2200
"""Calendar dates (``as_of``, ``calibration_end``): real days of these years only, checked
before any job exists (a pattern alone let ``9999-99-99`` through to a 202)."""
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def _calendar_date(value: str) -> str:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date (YYYY-MM-DD)") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"{value!r}: dates must be in the years {MIN_YEAR}-{MAX_YEAR}")
    return value


DateText = Annotated[str, StringConstraints(pattern=DATE_PATTERN),
                     AfterValidator(_calendar_date)]


def file_response(media_type: str, description: str) -> dict[str, Any]:
    """Route arguments for a route that answers `media_type` bytes: its 200 documented as
    that content type (FastAPI's default documents application/json)."""
    text = media_type.startswith("text/")
    schema = {"type": "string"} if text else {"type": "string", "format": "binary"}
    return {"response_class": Response, "responses": {
        200: {"description": description, "content": {media_type: {"schema": schema}}}}}
