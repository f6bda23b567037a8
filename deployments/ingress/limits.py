"""Bounds of the numbers the API accepts. Every integer and number a route takes has a
minimum and a maximum (tests/deployments/test_api_contract.py checks the OpenAPI schema),
so a huge or negative value is a 422, never an overflow deeper down."""

from __future__ import annotations

MAX_OFFSET = 10_000_000
"""Paging offsets: far beyond any listing, well inside a 64-bit database integer."""
MAX_SEED = 2**32 - 1
"""Random seeds: what numpy's generators accept."""
MAX_AMOUNT = 1e12
"""Money and spend figures."""
MAX_EPOCH_S = 1e11
"""Times in epoch seconds (the year 5138)."""
