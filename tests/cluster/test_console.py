"""`armillary up`'s terminal: its own lines only; everything written to fds 1 and 2 (Python,
native code, child processes) goes to the log file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging, os, subprocess, sys
from pathlib import Path
from cluster.console import console
console.capture(Path(sys.argv[1]))
print("python print noise")
logging.getLogger("ray.serve").warning("existing Serve options not applied")
os.write(2, b"native stderr noise\\n")
subprocess.run(["sh", "-c", "echo child raylet warning >&2"], check=True)
console.say("Armillary is serving on http://127.0.0.1:1")
console.error("error: for the person")
"""


def test_capture_keeps_the_terminal_for_the_console(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "armillary-up.log"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(log)], capture_output=True,
                          text=True, timeout=60, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout == "Armillary is serving on http://127.0.0.1:1\n"
    assert done.stderr == "error: for the person\n"
    text = log.read_text()
    for noise in ("python print noise", "existing Serve options not applied",
                  "native stderr noise", "child raylet warning",
                  "Armillary is serving on", "error: for the person"):
        assert noise in text, noise
    assert text.startswith("\n==== armillary up, pid ")
