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
    is read before an endpoint asks, so the token is checked first."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        received = 0

        async def receive_at_most() -> Message:
            nonlocal received
            too_large = HTTPException(413, f"The body may be at most {self.max_bytes} bytes.")
            if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
                raise too_large
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:  # a chunked body declares no length
                raise too_large
            return message

        await self.app(scope, receive_at_most, send)


def client_address(connection: HTTPConnection) -> str:
    """The address nginx saw: the last X-Forwarded-For hop, the one proxy we trust."""
    forwarded_for = connection.headers.get("X-Forwarded-For")
    if forwarded_for:
        return forwarded_for.rsplit(",", 1)[-1].strip()
    return connection.client.host if connection.client else "-"
