"""Counters of one crypto replica (``status``; benchmarks reset them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class ServingStats:
    requests: int = 0
    memo_hits: int = 0
    cache_hits: int = 0
    shared: int = 0
    computed: int = 0
    batches: int = 0
    largest_batch: int = 0
    realtime: int = 0
    model_loads: int = 0
    registry_checks: int = 0

    def reset(self) -> dict[str, Any]:
        """Zero every counter (in place: the collaborators share this object); returns the
        values replaced."""
        old = asdict(self)
        for f in fields(self):
            setattr(self, f.name, 0)
        return old
