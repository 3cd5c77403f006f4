"""Trust one proxy hop: the scheme and client address nginx forwards (like Flask's ProxyFix)."""

from starlette.types import ASGIApp, Receive, Scope, Send


class OneHopProxyHeaders:
    """Take the scheme from X-Forwarded-Proto and the client from the last X-Forwarded-For entry.

    nginx overwrites X-Forwarded-Proto and appends the address it saw to X-Forwarded-For, so
    the last entry is the only one a client cannot forge. gunicorn's ASGI worker applies
    X-Forwarded-Proto itself but never the client address; this does both, for any server.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])  # the last one wins when a name repeats
            proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
            forwarded_for = b",".join(
                value for name, value in scope["headers"] if name == b"x-forwarded-for"
            )
            client = forwarded_for.decode("latin-1").rsplit(",", 1)[-1].strip()
            if client:
                scope["client"] = (client, 0)
        await self.app(scope, receive, send)
