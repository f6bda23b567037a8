"""JSON log lines carrying the current request id, written off the request path: a
request's log call only queues the record (with its request id, taken in the request's
context); a thread formats it as JSON and writes it to stderr."""

from __future__ import annotations

import atexit
import logging
import queue
import sys
from contextvars import ContextVar
from logging.handlers import QueueHandler, QueueListener

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class _Enqueue(QueueHandler):
    """Queues the record as it is: formatting (message, exception, JSON) happens on the
    writer thread. The record is not shared with another process, so nothing needs
    flattening here."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def json_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}", style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    return handler


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send the `armillary` loggers to stderr as JSON, through a queue and a writer
    thread (idempotent; the queue is flushed at exit)."""
    logger = logging.getLogger("armillary")
    if any(getattr(h, "_armillary", False) for h in logger.handlers):
        return
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = _Enqueue(records)
    handler.addFilter(RequestIdFilter())
    handler._armillary = True  # type: ignore[attr-defined]
    listener = QueueListener(records, json_handler(), respect_handler_level=True)
    listener.start()
    atexit.register(listener.stop)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
