"""Ray jobs for researchers: submit, list, inspect, follow and stop jobs on a Ray
cluster's job server (the dashboard, e.g. ``http://127.0.0.1:8265``) through Ray's
``JobSubmissionClient``.

Token authentication (Ray 2.60 enables it by default): the token is resolved the way
Ray's own loader does — ``RAY_AUTH_TOKEN``, then the file named by
``RAY_AUTH_TOKEN_PATH``, then ``~/.ray/auth_token`` — and sent explicitly as an
``Authorization: Bearer`` header on this client only (no process-wide Ray state is
touched, so a ``ray.init()`` elsewhere in the same process is not disturbed). With
``RAY_AUTH_MODE=token`` and no token found, connecting fails with a clear message;
with ``RAY_AUTH_MODE=disabled`` no token is sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


class JobsError(Exception):
    """A job operation failed; the message says why (shown to the user as is)."""


@dataclass(frozen=True)
class Preset:
    """A ready-made entry point of the suite: ``python -m MODULE`` plus the user's args."""

    module: str
    usage: str
    required_args: int = 0
    env_vars: tuple[tuple[str, str], ...] = (("OMP_THREAD_LIMIT", "1"),)

    def entrypoint(self, args: Sequence[str]) -> str:
        if len(args) < self.required_args:
            raise JobsError(f"preset needs arguments: {self.usage}")
        return shlex.join(["python", "-m", self.module, *args])


PRESETS: dict[str, Preset] = {
    "ocr-batch": Preset("training.batch_ocr", "SRC OUT [--strategy ...]", required_args=2),
    "crypto-tune": Preset("training.crypto_tune", "--data CSV [--num-samples N ...]",
                          required_args=2),
    "analytics-train": Preset("training.analytics_train", "[--data-dir DIR] [--out DIR]"),
}


def resolve_token(env: Mapping[str, str] | None = None, home: Path | None = None) -> str | None:
    """The Ray auth token to send, or None (auth disabled, or no token anywhere)."""
    env = os.environ if env is None else env
    if env.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return None
    token = env.get("RAY_AUTH_TOKEN", "").strip()
    if token:
        return token
    candidates = []
    if env.get("RAY_AUTH_TOKEN_PATH"):
        candidates.append(Path(env["RAY_AUTH_TOKEN_PATH"]).expanduser())
    home = home or Path(env.get("HOME") or Path.home())
    candidates.append(home / ".ray" / "auth_token")
    for path in candidates:
        if path.is_file():
            text = path.read_text().strip()
            if text:
                return text
    if env.get("RAY_AUTH_MODE", "").lower() == "token":
        raise JobsError(
            "RAY_AUTH_MODE=token but no token found: set RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, "
            "or write it to ~/.ray/auth_token (`ray get-auth-token` on the head prints it)"
        )
    return None


def auth_headers(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Authorization header for `env`'s token. Without a token the header is present
    but empty: Ray's SDK would otherwise inject whatever token the process-wide loader
    holds (e.g. from a ``ray.init()`` elsewhere in this process), so what is sent would
    not be what was resolved here."""
    token = resolve_token(env)
    return {"Authorization": f"Bearer {token}" if token else ""}


def load_runtime_env(path: str | Path) -> dict[str, Any]:
    """A runtime_env from a YAML or JSON file (a mapping), e.g. ``{pip: [...], env_vars: {}}``."""
    file = Path(path)
    if not file.is_file():
        raise JobsError(f"runtime env file not found: {file}")
    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise JobsError(f"runtime env file {file} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise JobsError(f"runtime env file {file} must hold a mapping, not {type(data).__name__}")
    return data


def _translate(exc: Exception, address: str) -> JobsError:
    from ray.exceptions import AuthenticationError

    if isinstance(exc, AuthenticationError):
        first = str(exc).split("\n", 1)[0]
        return JobsError(f"{address}: {first} (check RAY_AUTH_TOKEN / ~/.ray/auth_token)")
    if isinstance(exc, ConnectionError):
        return JobsError(f"cannot reach the Ray job server at {address}: is the cluster up?")
    text = str(exc)
    if "404" in text or "does not exist" in text:
        return JobsError(f"{address}: no such job ({text.splitlines()[0]})")
    return JobsError(f"{address}: {text.splitlines()[0] if text else type(exc).__name__}")


class Jobs:
    """One connection to a Ray job server. Every failure surfaces as `JobsError`."""

    def __init__(self, address: str, env: Mapping[str, str] | None = None) -> None:
        from ray.job_submission import JobSubmissionClient

        if not address.startswith(("http://", "https://")):
            raise JobsError(f"job server address must be an http(s) URL, got {address!r}")
        self.address = address.rstrip("/")
        try:
            self._client = JobSubmissionClient(self.address, headers=auth_headers(env))
        except Exception as exc:
            raise _translate(exc, self.address) from exc

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JobsError:
            raise
        except Exception as exc:
            raise _translate(exc, self.address) from exc

    def submit(self, entrypoint: str, runtime_env: dict[str, Any] | None = None,
               metadata: dict[str, str] | None = None) -> str:
        if not entrypoint.strip():
            raise JobsError("empty entrypoint")
        return str(self._call(self._client.submit_job, entrypoint=entrypoint,
                              runtime_env=runtime_env, metadata=metadata))

    def submit_preset(self, name: str, args: Sequence[str],
                      runtime_env: dict[str, Any] | None = None) -> str:
        preset = PRESETS.get(name)
        if preset is None:
            raise JobsError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        env = dict(runtime_env or {})
        env_vars = {**dict(preset.env_vars), **env.get("env_vars", {})}
        env["env_vars"] = env_vars
        return self.submit(preset.entrypoint(args), env, metadata={"preset": name})

    def status(self, job_id: str) -> str:
        return str(self._call(self._client.get_job_status, job_id).value)

    def info(self, job_id: str) -> dict[str, Any]:
        details = self._call(self._client.get_job_info, job_id)
        return _public(details)

    def list(self) -> list[dict[str, Any]]:
        return [_public(job) for job in self._call(self._client.list_jobs)]

    def logs(self, job_id: str) -> str:
        return str(self._call(self._client.get_job_logs, job_id))

    def follow(self, job_id: str, sink: Callable[[str], None]) -> str:
        """Stream the job's logs into `sink` until it ends; returns its final status."""
        self.status(job_id)  # a clear error for an unknown id before streaming

        async def stream() -> None:
            async for chunk in self._client.tail_job_logs(job_id):
                sink(chunk)

        self._call(asyncio.run, stream())
        return self.status(job_id)

    def stop(self, job_id: str) -> bool:
        return bool(self._call(self._client.stop_job, job_id))

    def wait(self, job_id: str, timeout_s: float = 300, poll_s: float = 0.5) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.status(job_id)
            if state in TERMINAL:
                return state
            if time.monotonic() > deadline:
                raise JobsError(f"job {job_id} still {state} after {timeout_s:g} s")
            time.sleep(poll_s)


def _public(details: Any) -> dict[str, Any]:
    """The fields of a JobDetails worth printing."""
    return {
        "submission_id": details.submission_id,
        "status": str(details.status.value),
        "entrypoint": details.entrypoint,
        "message": details.message,
        "start_time": details.start_time,
        "end_time": details.end_time,
        "metadata": details.metadata or {},
    }


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
