"""What the routes call on the echo service (`deployments.echo.service.Echo`)."""

from __future__ import annotations

from deployments.echo.errors import ECHO_ERRORS
from deployments.ingress.services import ServiceClient


class EchoClient(ServiceClient):
    name = "echo"
    errors = ECHO_ERRORS

    async def echo(self, message: str) -> str:
        return str(await self._call("echo", message))
