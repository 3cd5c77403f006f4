"""Error pages (CherryPy's `error_page.default`): JSON under /api/ and /healthz, HTML for
people."""

import html
import json
from typing import Any

import cherrypy

from .templating import render


def status_of(status: str) -> tuple[int, str]:
    code, _, reason = status.partition(" ")
    return int(code), reason


def json_error(status: str, message: str, traceback: str, version: str) -> str:
    """The JSON body of an error answer; a traceback only in development (show_tracebacks)."""
    cherrypy.serving.response.headers["Content-Type"] = "application/json"
    code, reason = status_of(status)
    # CherryPy escapes the message for HTML; JSON needs no such thing.
    error: dict[str, Any] = {"status": code, "title": reason, "message": html.unescape(message)}
    if traceback:
        error["traceback"] = traceback
    # ensure_ascii: even a lone surrogate echoed in a message encodes.
    return json.dumps({"error": error})


def refuse_unrouted() -> None:
    """`tools.refuse_unrouted`: answer the dispatcher's 404 or 405 before the body is read."""
    handler = cherrypy.serving.request.handler
    if isinstance(handler, cherrypy.HTTPError):
        raise handler


cherrypy.tools.refuse_unrouted = cherrypy.Tool("on_start_resource", refuse_unrouted, priority=10)


def html_error(status: str, message: str, traceback: str, version: str) -> str:
    cherrypy.serving.response.headers["Content-Type"] = "text/html;charset=utf-8"
    code, reason = status_of(status)
    return render("error.html", code=code, reason=reason, message=message, traceback=traceback)
