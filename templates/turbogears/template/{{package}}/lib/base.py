"""The base of the page and API controllers (TurboGears's lib/base.py), and the application
wrapper that refuses HTTP methods no controller answers and requests it cannot parse."""

import json
from typing import Any, ClassVar
from urllib.parse import unquote_to_bytes

from tg import TGController, abort, request
from tg.appwrappers.base import ApplicationWrapper
from webob import Response
from webob.exc import HTTPMethodNotAllowed

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def method_not_allowed(path: str, allowed: str) -> HTTPMethodNotAllowed:
    """405 with Allow, its body JSON (under /api/) or text."""
    error = HTTPMethodNotAllowed(headers={"Allow": allowed})
    if is_api(path):
        error.content_type = "application/json"
        error.charset = "utf-8"
        error.body = json.dumps({"detail": f"The methods here are {allowed}."}).encode()
    return error


class BaseController(TGController):
    """Object dispatch calls any exposed method for any HTTP method; `_before` (run before each
    action) lets through only the methods the controller names."""

    allow_methods: ClassVar[tuple[str, ...]] = ("GET", "HEAD")

    def _before(self, *remainder: Any, **params: Any) -> None:
        if request.method not in self.allow_methods:
            path = request.environ["PATH_INFO"]  # as the server passed it, never decoded
            if is_api(path):
                raise method_not_allowed(path, ", ".join(self.allow_methods))
            abort(405, headers={"Allow": ", ".join(self.allow_methods)})


def json_response(status: int, detail: str) -> Response:
    body = json.dumps({"detail": detail})
    return Response(body, status=status, content_type="application/json", charset="utf-8")


class KnownMethodsWrapper(ApplicationWrapper):
    """Before any controller runs: TRACE, CONNECT and invented methods are a 405, and a path
    that is not UTF-8 (which TurboGears's dispatch cannot decode) is a 404, such a query a 400,
    and so is a form body that cannot be parsed."""

    def __init__(self, handler: Any, config: Any) -> None:
        super().__init__(handler, config)

    def __call__(self, controller: Any, environ: dict[str, Any], context: Any) -> Response:
        path = environ.get("PATH_INFO", "")
        if environ["REQUEST_METHOD"] not in KNOWN_METHODS:
            return method_not_allowed(path, ", ".join(sorted(KNOWN_METHODS)))
        try:
            path.encode("latin-1").decode("utf-8")  # WSGI passes the raw bytes as latin-1
        except UnicodeError:
            return json_response(404, "There is no page here.")
        try:
            unquote_to_bytes(environ.get("QUERY_STRING", "").replace("+", " ")).decode("utf-8")
        except UnicodeError:
            return json_response(400, "The query string is not UTF-8.")
        try:
            # TurboGears reads a form body into the action's arguments during dispatch, where a
            # body its Content-Type cannot describe (multipart without a boundary) would be a
            # 500; WebOb keeps what it parses here for the dispatch.
            context.request.POST  # noqa: B018
        except ValueError:
            return json_response(400, "The body does not match its Content-Type.")
        return self.next_handler(controller, environ, context)
