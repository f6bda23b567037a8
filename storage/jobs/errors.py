"""The job system's errors: plain Python, so that every service's error table
(``deployments/<name>/errors.py``) can give them a status."""

from __future__ import annotations


class JobFailed(Exception):
    """Raised by a job handler: the job fails now with this message, without another
    attempt (the input is bad, the thing it works on is gone, ...)."""


class JobLimitError(Exception):
    """A submission over a limit on queued and running jobs (per user, per kind): refused
    before the job is created (HTTP 429)."""

    retry_after_s = 30
