"""The first day (issue 16), on a suite started with `armillary up` in its own process:

- the README's quick start, pasted top to bottom: its fenced ``bash`` blocks (all but
  `make run`) run against the suite, each output compared with the ``text`` block shown
  after it (its keys, and every value that is not elided with ``...``);
- the start-up output is a few lines (URL, login, what trains, where the logs are), with
  Ray's and Serve's own output in the log file;
- Ctrl-C (SIGTERM) stops the whole suite in under 10 s, leaving no process of its cluster.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster.console import LOG_NAME
from cluster.head import LocalHead
from config.cluster_record import read_record
from tests.cluster.suite_process import ADMIN_PASSWORD, SuiteProcess

pytestmark = [pytest.mark.ray, pytest.mark.serve, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
README_URL = "http://127.0.0.1:8000"
README_PASSWORD = "admin-dev-password"
SHUTDOWN_LIMIT_S = 10.0


def quickstart_blocks(readme: str) -> list[tuple[str, str | None]]:
    """(bash block, the text block shown after it or None) of the Quick start section, in
    order, without the `make run` block (the suite under test is already running)."""
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    fences = re.findall(r"```(\w+)\n(.*?)```", section, flags=re.DOTALL)
    pairs: list[tuple[str, str | None]] = []
    for i, (lang, body) in enumerate(fences):
        if lang != "bash" or "make run" in body:
            continue
        after = fences[i + 1] if i + 1 < len(fences) else None
        pairs.append((body, after[1] if after and after[0] == "text" else None))
    return pairs


def shown_values(shown: str) -> dict[str, Any]:
    """Key → value of the JSON members written out in a shown output (``...``: any)."""
    values: dict[str, Any] = {}
    member = r'"(\w+)":\s*("(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?)'
    for key, literal in re.findall(member, shown):
        values[key] = Ellipsis if "..." in literal else json.loads(literal)
    return values


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteProcess]:
    root = tmp_path_factory.mktemp("first-day")
    process = SuiteProcess(root, crypto_bootstrap="true", crypto_feed="off",
                           shared_dir=str(root / "no-shared"))
    try:
        yield process.start()
    finally:
        process.stop()


def test_readme_quickstart_runs_as_shown(suite: SuiteProcess) -> None:
    def local(text: str) -> str:
        return text.replace(README_URL, suite.url).replace(README_PASSWORD, ADMIN_PASSWORD)

    blocks = quickstart_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 3
    assert any("TOKEN=" in body for body, _ in blocks), "the README must set $TOKEN"
    script = "set -euo pipefail\n" + "".join(
        f"printf '\\n@@@ {i}\\n'\n{local(body)}\n" for i, (body, _) in enumerate(blocks))
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=suite.env, text=True,
                          capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, (done.stdout, done.stderr)
    outputs = re.split(r"\n@@@ \d+\n", done.stdout)[1:]
    assert len(outputs) == len(blocks), done.stdout
    checked = 0
    for (body, shown), output in zip(blocks, outputs, strict=True):
        if shown is None:
            continue
        actual = json.loads(output)
        for key, value in shown_values(local(shown)).items():
            assert key in actual, (body, key, output)
            if value is not Ellipsis:
                assert actual[key] == value, (body, key, output)
            checked += 1
    assert checked >= 6


def test_start_up_output_is_a_few_lines(suite: SuiteProcess) -> None:
    terminal = suite.log.read_text()
    lines = [line for line in terminal.splitlines() if line.strip()]
    head = lines[:lines.index(next(x for x in lines if x.startswith("  stop:"))) + 1]
    assert len(head) <= 7, head
    assert head[0].startswith("starting Armillary on ")
    assert f"Armillary is serving on {suite.url}" in head[1]
    log = suite.data_dir.resolve() / "logs" / LOG_NAME
    text = "\n".join(head)
    assert "  log in:   user 'admin', password: the ARMILLARY_ADMIN_PASSWORD setting" in text
    assert "  training: crypto model crypto-btc-usdt-1h-h1" in text and "SYNTHETIC" in text
    assert f"  logs:     {log}" in text
    for noise in ("WARNING", "INFO", "raylet", "New http_options", "logging.cc",
                  "was not found in the background"):
        assert noise not in terminal, noise
    assert "Started Serve" in log.read_text()  # Ray's and Serve's output: in the log


def test_ctrl_c_stops_everything_in_under_10_s(suite: SuiteProcess) -> None:
    record = read_record(suite.data_dir)
    assert record is not None and suite.process is not None
    started = time.monotonic()
    suite.process.send_signal(signal.SIGTERM)
    code = suite.process.wait(60)
    took = time.monotonic() - started
    assert code == 0, suite.log_tail()
    assert took < SHUTDOWN_LIMIT_S, (took, suite.log_tail())
    assert re.search(r"^stopped in \d+\.\d s$", suite.log.read_text(), re.MULTILINE)
    assert LocalHead(temp_dir=Path(record.temp_dir), port=0, dashboard_port=0).pids() == set()
