"""Tweens: code around every request, before Pyramid routes it."""

from collections.abc import Callable

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.registry import Registry
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response

Handler = Callable[[Request], Response]


def url_decoding_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """400 for a URL whose percent-escapes are not UTF-8 (`/%ff`, `?name=%ff`).

    WebOb decodes the path and the query string lazily, so route matching or the first look
    at `request.params` would raise UnicodeDecodeError, a 500. Checked here once, up front,
    the answer is a 400, in JSON under /api/.
    """

    def url_decoding_tween(request: Request) -> Response:
        try:
            request.path_info  # noqa: B018 (decoding it is the check)
            request.GET  # noqa: B018
        except UnicodeDecodeError:
            message = "The URL's percent-escapes are not UTF-8."
            # PATH_INFO as the server passed it: still bytes in a str, never decoded.
            if request.environ.get("PATH_INFO", "").startswith("/api/"):
                body = {"error": {"status": 400, "message": message}}
                return render_to_response("json", body, request, response=Response(status=400))
            return HTTPBadRequest(message)
        return handler(request)

    return url_decoding_tween
