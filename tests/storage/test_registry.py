from __future__ import annotations

import pytest

from storage.errors import UnsupportedURLError, redact
from storage.registry import BACKENDS, open_backend, spec_for


@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_unknown_scheme_names_the_valid_ones(kind: str) -> None:
    with pytest.raises(UnsupportedURLError) as info:
        open_backend(kind, "mysql://user:secret@host/db")  # type: ignore[arg-type]
    message = str(info.value)
    assert "'mysql'" in message
    for scheme in BACKENDS[kind]:  # type: ignore[index]
        assert scheme in message
    assert "secret" not in message


def test_url_without_scheme_is_refused() -> None:
    with pytest.raises(UnsupportedURLError, match="valid schemes"):
        spec_for("cache", "localhost:6379")


def test_embedded_backends_are_process_bound() -> None:
    assert spec_for("cache", "memory://x").process_bound
    assert spec_for("warehouse", "chdb:///tmp/x").process_bound
    assert not spec_for("cache", "redis://localhost").process_bound


def test_redact_hides_password() -> None:
    assert redact("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert redact("redis://h:6379") == "redis://h:6379"
