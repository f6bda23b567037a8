"""Which domain errors of a service the client caused, and the HTTP status each stands for.

Every service declares one :data:`ErrorTable` in ``deployments/<name>/errors.py``; the
ingress applies it in one place, the base of the typed clients
(:class:`deployments.ingress.services.ServiceClient`). Plain Python: services import their
table without importing the HTTP layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from storage.jobs.errors import JobLimitError


@dataclass(frozen=True)
class Status:
    """An HTTP status for an error; ``retry_after_s``: a ``Retry-After`` header."""

    code: int
    retry_after_s: int | None = None


ErrorTable = Mapping[type[BaseException], Status]
"""Exception type -> status. The most specific listed class of an error decides; an error
of no listed class is not the client's fault and propagates (a 500)."""


def status_of(table: ErrorTable, exc: BaseException) -> Status | None:
    """The entry of the first class of ``type(exc).__mro__`` that ``table`` lists, if any
    (so an error that Ray re-raises as a subclass of its type is found too)."""
    for cls in type(exc).__mro__:
        found = table.get(cls)
        if found is not None:
            return found
    return None


JOB_ERRORS: ErrorTable = {JobLimitError: Status(429, JobLimitError.retry_after_s)}
"""The job system's errors, in the table of every service that submits jobs: a submission
over a limit on queued and running jobs."""
