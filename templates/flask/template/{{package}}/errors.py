"""Error pages: JSON for API clients, HTML for people."""

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/healthz")


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == (
        "application/json"
    )


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    # The error's own headers (Allow on a 405, WWW-Authenticate on a 401), not its HTML type.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    if wants_json():
        body = {"status": status, "name": error.name, "message": error.description}
        return {"error": body}, status, headers
    return render_template("errors/error.html", error=error), status, headers


def handle_unexpected_error(error: Exception) -> ResponseReturnValue:
    logger.exception("unhandled error", exc_info=error)
    return handle_http_error(InternalServerError())


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
