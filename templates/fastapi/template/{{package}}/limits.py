"""A ceiling on request bodies, so no client can make a worker buffer more than it should.

FastAPI 0.164's `max_body_size` answers a declared Content-Length past it in plain text; this
answers every refusal in the app's JSON error shape, as the rest of the API does.
"""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB, as nginx's client_max_body_size in front
TOO_LARGE = "The request body is larger than 1 MiB."
# Read (and drop) up to this much of a refused body, so the client, still sending, reads the
# 413 instead of a reset connection; past it the server closes the connection.
DISCARD_BYTES = 16 * 1024 * 1024


class BodySizeLimit:
    """Answer 413 to a body larger than MAX_BODY_BYTES, whether declared or streamed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await discard_body(receive)
            await error_response(413, TOO_LARGE)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                if message.get("more_body", False):
                    await discard_body(receive)
                # Raised inside the app, whose exception handlers answer it as a JSON 413.
                raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, limited_receive, send)


async def discard_body(receive: Receive) -> None:
    """Read the rest of the request body, up to DISCARD_BYTES, and drop it."""
    discarded = 0
    while discarded <= DISCARD_BYTES:
        message = await receive()
        discarded += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
