"""Helpers shared by the test suite: where the shared data lives, and how a missing
dependency is reported (a failure under CI=true, a skip on a developer's machine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(reason: str) -> None:
    """Fail under CI=true, skip elsewhere. Never returns."""
    if running_in_ci():
        pytest.fail(f"required for CI but missing: {reason}", pytrace=False)
    pytest.skip(reason)


def shared_dir() -> Path:
    """The read-only shared folder (real public data); ARMILLARY_SHARED_DIR overrides."""
    override = os.environ.get("ARMILLARY_SHARED_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared"


def shared_data(*parts: str) -> Path:
    """Path under shared/data; fails (CI) or skips (elsewhere) when it is absent."""
    path = shared_dir().joinpath("data", *parts)
    if not path.exists():
        missing(f"shared data not found: {path}")
    return path
