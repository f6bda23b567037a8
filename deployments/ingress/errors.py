"""Every error leaves as JSON ``{"detail": ..., "request_id": ...}`` with a 4xx status
where the client is at fault; a store that cannot be reached (server down or restarting,
connection dropped mid-query, pool closed, timeout) is a 503 with ``Retry-After``; other
unexpected failures are logged and answered with 500 without internals."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from deployments.ingress.logs import request_id_var
from storage.errors import StoreUnavailableError, is_unavailable

log = logging.getLogger("armillary.ingress")


class ApiError(Exception):
    """A client-facing error with a status and a message."""

    def __init__(
        self, status: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def error_response(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": detail, "request_id": request_id_var.get()}, status, headers=headers
    )


STORE_RETRY_AFTER_S = 5


def unavailable_response(exc: BaseException) -> JSONResponse:
    log.error("store unavailable: %s: %s", type(exc).__name__, exc)
    return error_response(503, "a backing store is unavailable; try again later",
                          {"Retry-After": str(STORE_RETRY_AFTER_S)})


def failure_response(exc: BaseException) -> JSONResponse:
    """The answer to an exception no handler took: 503 for an unavailable store, else
    500 (logged with its traceback)."""
    if is_unavailable(exc):
        return unavailable_response(exc)
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "internal error")


def _validation_message(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, exc.detail, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, [_validation_message(e) for e in exc.errors()])

    @app.exception_handler(StoreUnavailableError)
    async def store_down(_: Request, exc: StoreUnavailableError) -> JSONResponse:
        return unavailable_response(exc)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return failure_response(exc)
