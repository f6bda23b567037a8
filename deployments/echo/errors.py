"""The echo service's error table: it raises no client errors."""

from __future__ import annotations

from deployments.status import ErrorTable

ECHO_ERRORS: ErrorTable = {}
