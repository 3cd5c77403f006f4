"""Pure ASGI middleware (Starlette's advice over BaseHTTPMiddleware: no task per request, and
streaming stays streaming)."""

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

# A caller's id is kept only if it is short and plain, so it cannot forge log lines.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The most of a refused body read (and dropped) so that its client gets the answer.
DISCARD_BYTES = 16 * 1024 * 1024


class RequestIdMiddleware:
    """Tag each request with an id (`request.state.request_id`, the X-Request-ID header) and
    its duration (Server-Timing); log the failures with both."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()

        def log(status: int) -> float:
            elapsed_ms = (time.perf_counter() - started) * 1000
            # gunicorn's access log has a line per request already: this one adds the id, and
            # speaks up by default only when the app failed.
            level = logging.WARNING if status >= 500 else logging.DEBUG
            if logger.isEnabledFor(level):
                connection = HTTPConnection(scope)
                logger.log(
                    level,
                    "%s %s %s %.1fms client=%s id=%s",
                    scope["method"],
                    connection.url.path,
                    status,
                    elapsed_ms,
                    client_address(connection),
                    request_id,
                )
            return elapsed_ms

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = log(message["status"])
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log(500)  # Starlette's ServerErrorMiddleware, outside this one, answers the 500
            raise


class BodyLimitMiddleware:
    """Refuse a request body over max_bytes with a 413, as JSON like every other error.

    Starlette's own `max_body_size` answers its 413 in plain text; this raises HTTPException
    from `receive`, inside the endpoint that reads the body, so errors.py answers it. Nothing
    is read before an endpoint asks, so the token is checked first.

    An answer given before the whole body came in (this 413, a 401) would otherwise be lost:
    the server closes a connection with unread bytes in it, and the client, still sending,
    gets a reset instead of the answer. So what is left of the body is read and dropped once
    the answer is out, up to discard_bytes; a larger one is not worth reading."""

    def __init__(self, app: ASGIApp, max_bytes: int, discard_bytes: int = DISCARD_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.discard_bytes = discard_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        length = int(declared) if declared.isascii() and declared.isdigit() else None
        asked, received = False, 0
        # Whether the body has ended (or the client left), so nothing more is to be read.
        ended = not length and "transfer-encoding" not in headers

        async def receive_at_most() -> Message:
            nonlocal asked, received, ended
            too_large = HTTPException(413, f"The body may be at most {self.max_bytes} bytes.")
            if length is not None and length > self.max_bytes:
                raise too_large
            asked = True  # the server asks a client that expects 100-continue for its body
            message = await receive()
            received += len(message.get("body", b""))
            ended = ended or message["type"] != "http.request" or not message.get("more_body")
            if received > self.max_bytes:  # a chunked body declares no length
                raise too_large
            return message

        await self.app(scope, receive_at_most, send)
        if ended or (length or 0) > self.discard_bytes:
            return
        if not asked and headers.get("expect", "").lower() == "100-continue":
            return  # the client holds the body back until asked for it, and never was
        discarded = 0
        while discarded <= self.discard_bytes:
            message = await receive()
            discarded += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                return


def client_address(connection: HTTPConnection) -> str:
    """The address nginx saw: the last X-Forwarded-For hop, the one proxy we trust."""
    forwarded_for = connection.headers.get("X-Forwarded-For")
    if forwarded_for:
        return forwarded_for.rsplit(",", 1)[-1].strip()
    return connection.client.host if connection.client else "-"
