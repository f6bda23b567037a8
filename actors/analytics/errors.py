"""Typed errors of the analytics logic. Every one is a `ValueError` subclass carrying a
message fit for an API client; the ingress maps them to HTTP 4xx."""

from __future__ import annotations


class AnalyticsError(ValueError):
    """Base class: the request or its data cannot be served as given."""


class BadUploadError(AnalyticsError):
    """An upload cannot be read at all (wrong format, missing columns, no usable rows)."""


class UnknownCustomerError(AnalyticsError, KeyError):
    """A customer id that the fitted model or the warehouse does not know."""

    def __init__(self, customer_ids: list[str]) -> None:
        shown = ", ".join(customer_ids[:10]) + (" ..." if len(customer_ids) > 10 else "")
        super().__init__(f"unknown customer id(s): {shown}")
        self.customer_ids = customer_ids

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[UnknownCustomerError], tuple[list[str]]]:
        # Pickling (e.g. across Ray processes) rebuilds from the ids, not the message.
        return (type(self), (self.customer_ids,))


class InfeasibleBudgetError(AnalyticsError):
    """Budget bounds that no allocation can satisfy (sum of minimums above the total...)."""


class InsufficientDataError(AnalyticsError):
    """Too little data to fit or evaluate a model (e.g. fewer customers than clusters)."""


class NotFittedError(AnalyticsError):
    """A model was used before `fit`."""
