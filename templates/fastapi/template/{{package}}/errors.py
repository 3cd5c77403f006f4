"""Exception handlers: every error leaves as {"error": {"status", "message", "details"}}."""

import logging
from collections.abc import Callable, Coroutine, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .schemas import ErrorDetail, ErrorResponse

logger = logging.getLogger(__name__)


def error_response(
    status: int,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorDetail(status=status, message=message, details=details))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def handle_http_error(request: Request, exc: HTTPException) -> Response:
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def handle_validation_error(request: Request, exc: RequestValidationError) -> Response:
    # Where and why, without echoing the input back (it may hold secrets).
    details = [
        {"type": error["type"], "loc": list(error["loc"]), "msg": error["msg"]}
        for error in exc.errors()
    ]
    return error_response(422, "The request is not valid; see details.", details)


async def handle_unexpected_error(request: Request, exc: Exception) -> Response:
    # Log the traceback; the client only learns that it was our fault.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, HTTPStatus.INTERNAL_SERVER_ERROR.phrase)


Handler = Callable[[Request, Any], Coroutine[Any, Any, Response]]
EXCEPTION_HANDLERS: dict[int | type[Exception], Handler] = {
    HTTPException: handle_http_error,
    RequestValidationError: handle_validation_error,
    Exception: handle_unexpected_error,
}
