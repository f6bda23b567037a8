"""Ray jobs against a real, private local Ray head (`ray start --head` on free ports, its
own temp dir and its own token; token auth on). The head is stopped by pid, never with
`ray stop` (which would end every Ray on the machine, `ray_session` included)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster.cli import main
from cluster.head import LocalHead
from cluster.jobs import Jobs, JobsError, load_runtime_env, resolve_token
from tests.services import free_port

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def head() -> Iterator[LocalHead]:
    temp_dir = Path(tempfile.mkdtemp(prefix="/tmp/rh"))  # short: Ray's sockets live here
    ray_head = LocalHead(temp_dir=temp_dir, port=free_port(), dashboard_port=free_port())
    try:
        ray_head.start()
        yield ray_head
    finally:
        ray_head.stop()
        leftover = ray_head.pids()
        assert not leftover, f"head processes still alive: {leftover}"
        import ray

        if ray.is_initialized():  # the session's own Ray (ray_session) is untouched
            assert ray.get(ray.remote(_one).remote(), timeout=60) == 1


def _one() -> int:
    return 1


@pytest.fixture()
def jobs(head: LocalHead) -> Jobs:
    return Jobs(head.dashboard_url, env=head.client_env())


def test_token_resolution_order(tmp_path: Path) -> None:
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home\n")
    (tmp_path / "tok").write_text("from-path")
    assert resolve_token({"RAY_AUTH_TOKEN": "from-env", "RAY_AUTH_TOKEN_PATH": str(
        tmp_path / "tok")}, home=tmp_path) == "from-env"
    assert resolve_token({"RAY_AUTH_TOKEN_PATH": str(tmp_path / "tok")},
                         home=tmp_path) == "from-path"
    assert resolve_token({}, home=tmp_path) == "from-home"
    assert resolve_token({"RAY_AUTH_MODE": "disabled", "RAY_AUTH_TOKEN": "x"}) is None
    assert resolve_token({}, home=tmp_path / "nobody") is None
    with pytest.raises(JobsError, match="no token found"):
        resolve_token({"RAY_AUTH_MODE": "token"}, home=tmp_path / "nobody")


def test_submit_a_real_job_and_read_its_logs(jobs: Jobs) -> None:
    job_id = jobs.submit("python -c \"print('hello from armillary')\"")
    assert jobs.wait(job_id, timeout_s=120) == "SUCCEEDED"
    assert "hello from armillary" in jobs.logs(job_id)
    assert job_id in {job["submission_id"] for job in jobs.list()}
    assert jobs.info(job_id)["status"] == "SUCCEEDED"


def test_follow_streams_until_the_end(jobs: Jobs) -> None:
    job_id = jobs.submit(
        "python -c \"import time\nfor i in range(3): print('tick', i, flush=True); "
        "time.sleep(0.3)\"")
    chunks: list[str] = []
    assert jobs.follow(job_id, chunks.append) == "SUCCEEDED"
    text = "".join(chunks)
    assert all(f"tick {i}" in text for i in range(3))


def test_stop_a_long_job(jobs: Jobs) -> None:
    job_id = jobs.submit("python -c \"import time; print('started', flush=True); "
                         "time.sleep(600)\"")
    for _ in range(120):
        if jobs.status(job_id) == "RUNNING":
            break
        import time
        time.sleep(0.25)
    assert jobs.stop(job_id) is True
    assert jobs.wait(job_id, timeout_s=60) == "STOPPED"


def test_runtime_env_file_reaches_the_job(jobs: Jobs, tmp_path: Path) -> None:
    env_file = tmp_path / "env.yaml"
    env_file.write_text("env_vars:\n  ARMILLARY_PROBE: forty-two\n")
    job_id = jobs.submit("python -c \"import os; print(os.environ['ARMILLARY_PROBE'])\"",
                         load_runtime_env(env_file))
    assert jobs.wait(job_id, timeout_s=120) == "SUCCEEDED"
    assert "forty-two" in jobs.logs(job_id)


def test_preset_runs_the_suites_own_entry_point(jobs: Jobs) -> None:
    job_id = jobs.submit_preset("analytics-train", ["--help"])
    assert jobs.wait(job_id, timeout_s=180) == "SUCCEEDED", jobs.logs(job_id)
    logs = jobs.logs(job_id)
    assert "usage:" in logs and "--data-dir" in logs
    assert jobs.info(job_id)["metadata"]["preset"] == "analytics-train"
    with pytest.raises(JobsError, match="SRC OUT"):
        jobs.submit_preset("ocr-batch", ["only-one-arg"])
    with pytest.raises(JobsError, match="unknown preset"):
        jobs.submit_preset("mine-bitcoin", [])


def test_wrong_or_missing_token_is_refused(head: LocalHead) -> None:
    with pytest.raises(JobsError, match="Authentication failed"):
        Jobs(head.dashboard_url, env={"RAY_AUTH_TOKEN": "not-the-token"}).list()
    with pytest.raises(JobsError, match="Authentication required"):
        Jobs(head.dashboard_url, env={"RAY_AUTH_TOKEN_PATH": "/nonexistent",
                                      "HOME": "/nonexistent"}).list()


def test_unknown_job_and_unreachable_server(jobs: Jobs) -> None:
    with pytest.raises(JobsError, match="no such job"):
        jobs.status("raysubmit_doesnotexist")
    with pytest.raises(JobsError, match="cannot reach"):
        Jobs(f"http://127.0.0.1:{free_port()}", env={"RAY_AUTH_MODE": "disabled"})
    with pytest.raises(JobsError, match="http"):
        Jobs("127.0.0.1:8265")


def test_cli_submit_wait_logs_stop(head: LocalHead, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", head.token)
    address = ["--address", head.dashboard_url]
    assert main(["job", "submit", *address, "--wait", "--", "python", "-c",
                 "print('cli says hi')"]) == 0
    out = capsys.readouterr().out
    job_id = out.splitlines()[0]
    assert job_id.startswith("raysubmit_") and "cli says hi" in out
    assert main(["job", "logs", job_id, *address]) == 0
    assert "cli says hi" in capsys.readouterr().out
    assert main(["job", "status", job_id, *address]) == 0
    assert '"SUCCEEDED"' in capsys.readouterr().out
    assert main(["job", "stop", job_id, *address]) == 0
    assert "already finished" in capsys.readouterr().out
    assert main(["job", "status", "raysubmit_nope", *address]) == 1
    assert "no such job" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("- just\n- a list\n")
    assert main(["job", "submit", *address, "--runtime-env", str(tmp_path / "bad.yaml"),
                 "--", "python", "-V"]) == 1
    assert "must hold a mapping" in capsys.readouterr().err
    monkeypatch.setenv("RAY_AUTH_TOKEN", "wrong")
    assert main(["job", "list", *address]) == 1
    assert "Authentication failed" in capsys.readouterr().err


def test_coexists_with_the_sessions_ray(ray_session: Any, jobs: Jobs, head: LocalHead) -> None:
    """`ray_session`'s ray.init() in this process and the private head are two clusters;
    jobs go to the head, and the session's Ray keeps working."""
    gcs = ray_session.get_runtime_context().gcs_address
    assert not gcs.endswith(f":{head.port}")
    job_id = jobs.submit("python -c \"print('beside ray_session')\"")
    assert jobs.wait(job_id, timeout_s=120) == "SUCCEEDED"
    assert ray_session.get(ray_session.remote(_one).remote(), timeout=60) == 1
