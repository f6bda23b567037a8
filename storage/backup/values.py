"""JSON for the values rows hold: what JSON has as itself, bytes tagged as base64."""

from __future__ import annotations

import base64
import json
from typing import Any

_BYTES = "$b64"


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {_BYTES: base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _BYTES in obj:
        return base64.b64decode(obj[_BYTES])
    return obj


def dump_line(values: list[Any]) -> str:
    return json.dumps(values, default=_default, separators=(",", ":"))


def load_line(line: str) -> list[Any]:
    values = json.loads(line, object_hook=_hook)
    if not isinstance(values, list):
        raise ValueError("a row must be a JSON list")
    return values
