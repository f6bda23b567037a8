"""Every error leaves in one shape, :class:`ErrorBody`: ``{"detail": "<message>",
"request_id": "<id>"}``, plus ``errors`` (``[{"loc", "msg", "type"}]``, one per field) on
a 422 from request validation. Application errors (`ApiError`), Starlette's own
(404 unknown path, 405 wrong method), validation errors, a store that cannot be reached
(server down or restarting, connection dropped mid-query, pool closed, timeout: 503 with
``Retry-After``) and unexpected failures (500, logged, without internals) all go through
`error_response`; the OpenAPI schema documents the shape for every operation
(`install_error_schema`)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
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


class FieldError(BaseModel):
    """What is wrong with one part of the request."""

    loc: list[str | int] = Field(description="where: e.g. [\"query\", \"offset\"]")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The body of every error response (4xx and 5xx)."""

    detail: str = Field(description="what went wrong, for people")
    request_id: str = Field(description="the request's id (X-Request-Id), for the logs")
    errors: list[FieldError] | None = Field(
        None, description="request validation errors (422 only), one per field")


def error_response(
    status: int, detail: Any, headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "detail": detail if isinstance(detail, str) else str(detail),
        "request_id": request_id_var.get(),
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status, headers=headers)


def _field_error(error: dict[str, Any]) -> dict[str, Any]:
    loc = [p if isinstance(p, int) else str(p) for p in error.get("loc", ())]
    return {"loc": loc, "msg": str(error.get("msg", "invalid")),
            "type": str(error.get("type", "value_error"))}


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
        found = list(exc.errors())
        return error_response(422, "; ".join(_validation_message(e) for e in found) or
                              "invalid request", errors=[_field_error(e) for e in found])

    @app.exception_handler(StoreUnavailableError)
    async def store_down(_: Request, exc: StoreUnavailableError) -> JSONResponse:
        return unavailable_response(exc)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return failure_response(exc)


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _error_response_doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def install_error_schema(app: FastAPI) -> None:
    """Make the app's OpenAPI schema say what errors are: `ErrorBody` replaces FastAPI's
    ``HTTPValidationError`` for the 422s, and every operation documents ``4XX`` and
    ``5XX`` with it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(body.pop("$defs", {}))
        schemas["ErrorBody"] = body
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        components.setdefault("responses", {})["Error"] = _error_response_doc(
            "An error: what went wrong (detail) and the request id")
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = _error_response_doc(
                        "Validation error: detail, and errors per field")
                responses.setdefault("4XX", {"$ref": "#/components/responses/Error"})
                responses.setdefault("5XX", {"$ref": "#/components/responses/Error"})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
