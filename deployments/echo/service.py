"""The echo service: plain Python."""

from __future__ import annotations


class Echo:
    def echo(self, message: str) -> str:
        return message
