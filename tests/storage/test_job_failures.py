"""A failed job's recorded error, explained for a person (reason) with the detail kept."""

from __future__ import annotations

import pytest

from storage.records.job_failures import DEFAULT_HINT, RETRY_HINTS, explain_failure
from storage.records.jobs import Job, JobStatus


@pytest.mark.parametrize(("error", "words"), [
    ("SystemExit: 15", "The worker was stopped (signal 15, SIGTERM) before the job finished"),
    ("SystemExit: 143", "(signal 15, SIGTERM)"),
    ("SystemExit: -9", "(signal 9, SIGKILL)"),
    ("KeyboardInterrupt: interrupted", "interrupted (Ctrl-C)"),
    ("crypto training was interrupted 3 times (the worker running it stopped each time); "
     "giving up", "interrupted 3 times"),
    ("the job could not be queued: ConnectionError: refused", "could not be queued"),
    ("PostgreSQL unavailable: OSError: [Errno 111]", "store of the suite was unreachable"),
])
def test_interruptions_say_what_happened_and_how_to_run_it_again(error: str, words: str) -> None:
    failure = explain_failure(error, "crypto-train")
    assert words in failure.reason
    assert failure.reason.endswith(DEFAULT_HINT)
    assert failure.detail == error
    assert "SystemExit" not in failure.reason and "Error:" not in failure.reason


def test_a_kind_names_its_own_way_to_run_again() -> None:
    failure = explain_failure("SystemExit: 15", "ocr-batch")
    assert failure.reason.endswith(RETRY_HINTS["ocr-batch"])
    assert "armillary ocr batch" in failure.reason


def test_unexpected_errors_point_at_the_detail() -> None:
    failure = explain_failure("ValueError: could not convert string to float: 'x'")
    assert failure.reason.startswith("The job stopped on an unexpected error (ValueError)")
    assert failure.detail == "ValueError: could not convert string to float: 'x'"
    retried = explain_failure("analytics training failed after 3 attempts: RuntimeError: boom")
    assert retried.reason.startswith("Analytics training failed 3 times in a row")
    assert "(RuntimeError)" in retried.reason and retried.detail is not None


def test_messages_written_for_people_stay_and_have_no_detail() -> None:
    failure = explain_failure("the uploaded file has no rows")
    assert failure == type(failure)("The uploaded file has no rows.", None)
    assert explain_failure("").detail is None


def _job(status: JobStatus, error: str | None) -> Job:
    return Job("j1", "ocr-batch", status, "u1", {}, 3, 10, None, error, 1.0, 2.0)


def test_public_job_carries_reason_and_detail_only_when_failed() -> None:
    failed = _job(JobStatus.FAILED, "SystemExit: 15").public()
    assert failed["error"] == "SystemExit: 15" and failed["detail"] == "SystemExit: 15"
    assert failed["reason"].startswith("The worker was stopped (signal 15, SIGTERM)")
    running = _job(JobStatus.RUNNING, None).public()
    assert "reason" not in running and "detail" not in running
