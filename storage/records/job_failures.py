"""A failed job's error as a person reads it: a ``reason`` (one sentence: what happened and
what to do) and the ``detail`` behind it (the error as recorded).

Job errors are recorded where they happen (a handler's exception, the reaper, a signal that
stopped a command) and some are a Python exception's text, such as ``SystemExit: 15``.
:func:`explain_failure` turns the known shapes into a sentence and keeps the recorded text as
the detail; :meth:`storage.records.jobs.Job.public` adds both to every failed job, so every
client (web, CLI, API) shows the same explanation, for old rows too.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

RETRY_HINTS: dict[str, str] = {
    "ocr-batch": "Run the same `armillary ocr batch` command again (same output folder) to "
                 "resume it where it stopped.",
}
"""What to do to run a failed job of a kind again, where it is not "start it again"."""
DEFAULT_HINT = "Start it again."

_SIGNAL_EXIT = re.compile(r"^SystemExit:\s*(-?\d+)\s*$")
_KILLED_BY = re.compile(r"(?:killed|terminated|stopped) by signal (\d+)|signal (\d+)", re.I)
_EXCEPTION = re.compile(r"^([A-Z][A-Za-z0-9_]*(?:Error|Exception|Exit|Interrupt|Failed)):\s*(.*)$",
                        re.S)
_AFTER_ATTEMPTS = re.compile(r"^(.+?) failed after (\d+) attempts: (.*)$", re.S)
_INTERRUPTED = re.compile(r"was interrupted (\d+) times")


@dataclass(frozen=True)
class Failure:
    reason: str
    """One sentence for a person: what happened, and what to do."""
    detail: str | None
    """The error as recorded (for whoever investigates); None where the reason is that
    text already."""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _stopped(number: int) -> str:
    name = _signal_name(number)
    if number == signal.SIGKILL:
        why = "for example for lack of memory, or by a shutdown that did not wait"
    elif number in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", 1)):
        why = "usually because the suite or the command running it was shut down"
    else:
        why = "by something outside the job"
    return (f"The worker was stopped (signal {number}, {name}) before the job finished, "
            f"{why}; it was not retried.")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def explain_failure(error: str, kind: str | None = None) -> Failure:
    """The reason and detail of a failed job of ``kind`` whose recorded error is ``error``."""
    detail = error.strip()
    what, retry = _what(detail)
    if not retry:
        return Failure(what, None if not detail or what == _sentence(detail) else detail)
    return Failure(f"{what} {RETRY_HINTS.get(kind or '', DEFAULT_HINT)}", detail or None)


def _what(error: str) -> tuple[str, bool]:
    """What happened, as a sentence, and whether running the job again is the remedy."""
    if not error:
        return "The job failed without recording why.", True
    match = _SIGNAL_EXIT.match(error)
    if match:
        code = abs(int(match.group(1)))
        if code == 0:
            return "The worker exited before the job finished.", True
        return _stopped(code - 128 if code > 128 else code), True
    if error.startswith("KeyboardInterrupt"):
        return "The job was interrupted (Ctrl-C) before it finished.", True
    match = _KILLED_BY.search(error)
    if match and not _EXCEPTION.match(error):
        return _stopped(int(match.group(1) or match.group(2))), True
    if error.startswith("MemoryError"):
        return "The job ran out of memory (give it less input or more memory).", True
    match = _INTERRUPTED.search(error)
    if match:
        return (f"The job was interrupted {match.group(1)} times (the worker running it "
                "stopped each time), so it was given up.", True)
    if error.startswith("orphaned by a restart"):
        return ("A restart of the suite left this job without a worker, and it cannot be "
                "resumed.", True)
    if error.startswith("the job could not be queued"):
        return ("The job could not be queued (a store of the suite was unreachable); check "
                "`armillary status`.", True)
    if "another run holds the output folder" in error:
        return ("Another `armillary ocr batch` run was using the same output folder; wait for "
                "it to finish or use another folder.", False)
    if re.search(r"\b(PostgreSQL|Redis|ClickHouse|InfluxDB|store)\b.*\bunavailable\b", error,
                 re.I):
        return ("A store of the suite was unreachable while the job ran; check "
                "`armillary status`.", True)
    match = _AFTER_ATTEMPTS.match(error)
    if match:
        what, attempts, last = match.groups()
        inner = _EXCEPTION.match(last)
        cause = f" with an unexpected error ({inner.group(1)})" if inner else ""
        return (f"{_sentence(what)[:-1]} failed {attempts} times in a row{cause}; the details "
                "say why. If it keeps failing, report it with the details.", False)
    match = _EXCEPTION.match(error)
    if match:
        return (f"The job stopped on an unexpected error ({match.group(1)}); the details say "
                "why. If it happens again, report it with the details.", False)
    # a message written for people already (JobFailed, the reaper, a kind's final message)
    return _sentence(error), False
