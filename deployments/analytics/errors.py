"""The analytics service's errors and their HTTP statuses. Every client error is an
`AnalyticsError` (:mod:`actors.analytics.errors`); those that are also a `LookupError`
mean "not found"."""

from __future__ import annotations

from actors.analytics.errors import (
    AnalyticsError,
    BadUploadError,
    InfeasibleBudgetError,
    InsufficientDataError,
    NotFittedError,
    UnknownCustomerError,
)
from deployments.status import JOB_ERRORS, ErrorTable, Status


class UnknownReportError(AnalyticsError, LookupError):
    """A report id with no stored report."""


class UnknownScheduleError(AnalyticsError, LookupError):
    """A schedule id with no stored schedule."""


class UnknownTableError(AnalyticsError, LookupError):
    """A warehouse table nothing was imported into."""


ANALYTICS_ERRORS: ErrorTable = {
    AnalyticsError: Status(400),
    BadUploadError: Status(400),
    UnknownCustomerError: Status(404),
    UnknownReportError: Status(404),
    UnknownScheduleError: Status(404),
    UnknownTableError: Status(404),
    NotFittedError: Status(409),
    InfeasibleBudgetError: Status(422),
    InsufficientDataError: Status(422),
    **JOB_ERRORS,
}
