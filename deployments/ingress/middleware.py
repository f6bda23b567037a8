"""One pure-ASGI middleware for what every HTTP request gets: a request id (response
header and log context), ``X-Content-Type-Options: nosniff``, the body size limit (413),
latency/count metrics, an access log line, and an audit record for every mutating
request, durably stored before the response starts (`storage.records.audit.DurableAudit`):
a caller told "done" can rely on the row existing."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from deployments.ingress.errors import error_response, failure_response
from deployments.ingress.logs import request_id_var
from deployments.ingress.metrics import IngressMetrics
from storage.records.audit import AuditEntry, DurableAudit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ACTOR_KEY = "armillary.actor"
"""Scope key where authentication leaves who the caller is (for the audit log)."""
_VALID_ID = re.compile(r"^[A-Za-z0-9._\-]{8,128}$")

log = logging.getLogger("armillary.access")


class _BodyTooLarge(Exception):
    pass


class RequestMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: IngressMetrics,
        audit: Callable[[], DurableAudit],
        add_request_id_header: bool = True,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.audit = audit
        # Serve's proxy already puts its request id (which it passes to us) on responses.
        self.add_request_id_header = add_request_id_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        audited = scope["method"] not in MUTATING

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started, audited
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                # No response may be sniffed into something else (JSON as HTML, say).
                if not any(k.lower() == b"x-content-type-options"
                           for k, _ in message.get("headers", [])):
                    message["headers"] = [*message.get("headers", []),
                                          (b"x-content-type-options", b"nosniff")]
                if not audited:
                    audited = True
                    await self._audit(scope, status, request_id)
                if self.add_request_id_header:
                    message["headers"] = [
                        *[(k, v) for k, v in message.get("headers", [])
                          if k.lower() != b"x-request-id"],
                        (b"x-request-id", request_id.encode()),
                    ]
            await send(message)

        try:
            declared = headers.get(b"content-length")
            if declared is not None:
                # The server enforces the declared length, so checking it is enough.
                if not declared.isdigit() or int(declared) > self.max_body_bytes:
                    raise _BodyTooLarge
                body_receive = receive
            else:
                body_receive = await self._buffer_limited(receive)
            await self.app(scope, body_receive, send_with_id)
        except _BodyTooLarge:
            if response_started:
                raise
            too_large = error_response(
                413, f"request body larger than {self.max_body_bytes} bytes"
            )
            await too_large(scope, receive, send_with_id)
        except Exception as exc:
            # Answered here, inside the request's id context (Starlette's last-resort
            # handler runs outside this middleware, where the id is gone).
            if response_started:
                raise
            await failure_response(exc)(scope, receive, send_with_id)
        finally:
            if not audited:  # the app failed before it answered
                await self._audit(scope, status, request_id)
            self._after(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    async def _buffer_limited(self, receive: Receive) -> Receive:
        """Read a body of undeclared length (chunked) up to the limit, then replay it;
        the app's own body parsing would turn an error raised mid-stream into a 400."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks),
                                  "more_body": False}]

        async def replayed() -> Message:
            return replay.pop() if replay else await receive()

        return replayed

    async def _audit(self, scope: Scope, status: int, request_id: str) -> None:
        entry = AuditEntry(scope.get(ACTOR_KEY, "anonymous"), scope["method"], scope["path"],
                           status, request_id)
        try:
            await self.audit().write(entry)
        except Exception:
            log.exception("could not write the audit record %s anywhere", entry.id)

    def _after(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "(unmatched)"
        method = scope["method"]
        self.metrics.observe(method, route, status, seconds)
        actor = scope.get(ACTOR_KEY, "anonymous")
        log.info(
            "%s %s %d", method, scope["path"], status,
            extra={"route": route, "status": status, "ms": round(seconds * 1000, 2),
                   "actor": actor},
        )
