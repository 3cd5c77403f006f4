"""Errors as JSON under /api/ and for /healthz, with one shape:
{"error": {"status", "title", "description", ...}}; an HTML page everywhere else."""

import json
from typing import Any

import bottle

from .render import page

JSON_PREFIXES = ("/api/", "/healthz")


class ApiError(bottle.HTTPError):
    """An error the client can act on; `problems` says which field is wrong and why."""

    def __init__(
        self, status: int, description: str, problems: dict[str, str] | None = None, **headers: Any
    ) -> None:
        super().__init__(status, description, **headers)
        self.problems = problems or {}


def unauthorized(description: str) -> ApiError:
    return ApiError(401, description, **{"WWW-Authenticate": "Bearer"})


def handle_error(error: bottle.HTTPError) -> str:
    """Bottle's error handler for every status: what went wrong, never a traceback (Bottle
    writes that to the error log, which gunicorn keeps)."""
    status = error.status_code
    title = error.status_line.partition(" ")[2]
    description = error.body if isinstance(error.body, str) and status < 500 else title
    path = bottle.request.path
    if path.startswith(JSON_PREFIXES) or path == "/api":
        bottle.response.content_type = "application/json"
        body: dict[str, Any] = {"status": status, "title": title, "description": description}
        if isinstance(error, ApiError) and error.problems:
            body["problems"] = error.problems
        return json.dumps({"error": body})
    return page("error", status=status, title=title, description=description)


def refuse_paths_not_utf8() -> None:
    """Bottle decodes the path as UTF-8 dropping the bytes that are not (/%ff would be the home
    page): a path that is not UTF-8 names nothing here, so it is a 400."""
    raw = str(bottle.request.environ.get("bottle.raw_path", ""))
    try:
        raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise bottle.HTTPError(400, "The path is not UTF-8.") from None


def install_error_handlers(app: bottle.Bottle) -> None:
    app.add_hook("before_request", refuse_paths_not_utf8)
    for status in bottle.HTTP_CODES:
        if status >= 400:
            app.error(status)(handle_error)
