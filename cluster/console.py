"""What `armillary up` shows on the terminal, and where everything else goes.

By default the terminal gets a few lines (the URL, how to log in, what trains in the
background, where the logs are, then the background work's outcomes) and the process's
own stdout and stderr - Ray's and Serve's log lines, worker output forwarded to the driver,
the C++ core's warnings, tracebacks - go to the log file (`log_path`, under the data dir).
``--verbose`` keeps them on the terminal. The redirection is done on the file descriptors
(1 and 2), so output written by native code and by child processes that inherit them is
caught too.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

from config.settings import Settings

LOG_NAME = "armillary-up.log"


def log_path(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "logs" / LOG_NAME


class Console:
    """The terminal, kept apart from the process's redirected stdout/stderr."""

    def __init__(self) -> None:
        self._out: TextIO = sys.stdout
        self._err: TextIO = sys.stderr
        self.log: Path | None = None

    def capture(self, path: Path) -> None:
        """Send fds 1 and 2 (and so `print`, logging, Ray's output) to ``path``, appended;
        this console keeps writing to the terminal they pointed at before."""
        path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self._out = os.fdopen(os.dup(1), "w", buffering=1)
        self._err = os.fdopen(os.dup(2), "w", buffering=1)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, f"\n==== armillary up, pid {os.getpid()}, "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S %z')} ====\n".encode())
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        self.log = path

    def say(self, text: str) -> None:
        """A line for the person at the terminal (copied to the log when there is one)."""
        self._write(self._out, text)

    def error(self, text: str) -> None:
        self._write(self._err, text)

    def _write(self, stream: TextIO, text: str) -> None:
        print(text, file=stream, flush=True)
        if self.log is not None:
            print(text, flush=True)  # fd 1: the log file


console = Console()
"""The one console of this process (`armillary up` captures it; other commands print)."""
