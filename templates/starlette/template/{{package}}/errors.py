"""Errors as JSON, with one shape: {"detail": ...}, and "problems" for fields that are wrong."""

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .responses import JSONResponse

logger = logging.getLogger(__name__)


class InvalidFields(HTTPException):
    """The body parsed, but its fields are wrong; `problems` says which and why."""

    def __init__(self, problems: dict[str, str], status_code: int = 422) -> None:
        super().__init__(status_code, "The request has invalid fields.")
        self.problems = problems


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's HTTPException (404, 405, 413, ...) and ours, as JSON, never a page."""
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for HTTPException
        raise exc
    body: dict[str, object] = {"detail": exc.detail}
    if isinstance(exc, InvalidFields):
        body["problems"] = exc.problems
    headers = dict(exc.headers or {})
    if exc.status_code == 401:  # every refusal names the scheme it wants (RFC 6750)
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, exc.status_code, headers)


async def server_error(request: Request, exc: Exception) -> Response:
    """Log the traceback for us; tell the client only that it failed."""
    request_id = request.scope.get("state", {}).get("request_id", "-")
    logger.error(
        "unhandled error in %s %s id=%s", request.method, request.url.path, request_id, exc_info=exc
    )
    return JSONResponse({"detail": "Internal Server Error"}, 500)
