"""Error pages: JSON for API clients, HTML for people."""

import logging
from typing import Any

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/healthz")


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == (
        "application/json"
    )


def handle_http_error(error: HTTPException) -> tuple[Any, int]:
    status = error.code or 500
    if wants_json():
        body = {"status": status, "name": error.name, "message": error.description}
        return {"error": body}, status
    return render_template("errors/error.html", error=error), status


def handle_unexpected_error(error: Exception) -> tuple[Any, int]:
    logger.exception("unhandled error", exc_info=error)
    return handle_http_error(InternalServerError())


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
