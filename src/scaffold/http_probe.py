"""Real HTTP requests for `scaffold check`: over a unix socket, plain TCP, or TLS with SNI.

`UpstreamRecorder` sits between nginx and gunicorn on a unix socket and keeps a copy of what
nginx sends upstream, so the check can see the headers nginx really forwards (a forged
X-Forwarded-Proto overwritten, X-Forwarded-For appended) and that static files never reach the app.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT = 10.0
_RECORD_LIMIT = 4_000_000


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _TlsConnection(http.client.HTTPConnection):
    """TLS to 127.0.0.1 while presenting server_name in SNI, as a browser for that domain would;
    offering `session` to resume, as a browser's second connection does."""

    def __init__(
        self,
        port: int,
        server_name: str,
        context: ssl.SSLContext,
        timeout: float,
        session: ssl.SSLSession | None = None,
    ):
        super().__init__("127.0.0.1", port, timeout=timeout)
        self.server_name = server_name
        self.context = context
        self.session = session
        self.tls: ssl.SSLSocket | None = None

    def connect(self) -> None:
        super().connect()
        self.tls = self.context.wrap_socket(
            self.sock, server_hostname=self.server_name, session=self.session
        )
        self.sock = self.tls


def tls_context(cafile: Path | None) -> ssl.SSLContext:
    """Trust exactly cafile (our self-signed certificate), or nothing at all when None."""
    if cafile is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=str(cafile))


def _send(
    connection: http.client.HTTPConnection, path: str, host: str, headers: dict[str, str] | None
) -> Response:
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        reply = connection.getresponse()
        body = reply.read()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, body)
    finally:
        connection.close()


def get_unix(
    path: Path,
    url_path: str,
    host: str,
    headers: dict[str, str] | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> Response:
    return _send(_UnixConnection(path, timeout), url_path, host, headers)


def get_http(
    port: int,
    url_path: str,
    host: str,
    headers: dict[str, str] | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> Response:
    return _send(
        http.client.HTTPConnection("127.0.0.1", port, timeout=timeout), url_path, host, headers
    )


def get_https(
    port: int,
    url_path: str,
    host: str,
    context: ssl.SSLContext,
    headers: dict[str, str] | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> Response:
    return _send(_TlsConnection(port, host, context, timeout), url_path, host, headers)


@dataclass(frozen=True)
class TlsSessions:
    version: str  # what the first connection negotiated, e.g. "TLSv1.3"
    resumed: bool  # whether the second connection resumed the first one's session


def tls_sessions(
    port: int, path: str, host: str, context: ssl.SSLContext, timeout: float = PROBE_TIMEOUT
) -> TlsSessions:
    """GET path on two TLS connections, the second offering the first one's session."""
    session: ssl.SSLSession | None = None
    seen: list[tuple[str, bool]] = []
    for _ in range(2):
        connection = _TlsConnection(port, host, context, timeout, session)
        try:
            connection.request("GET", path, headers={"Host": host})
            # Read it all: a TLS 1.3 server sends its session ticket after the handshake.
            connection.getresponse().read()
            tls = connection.tls
            if tls is None:  # request() connects, so this cannot happen
                raise ssl.SSLError("no TLS connection")
            session = tls.session
            seen.append((tls.version() or "", bool(tls.session_reused)))
        finally:
            connection.close()
    return TlsSessions(version=seen[0][0], resumed=seen[1][1])


def port_accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A port nothing listens on right now (the caller retries if another process takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class UpstreamRecorder:
    """A unix-socket relay to `target` that records the bytes its clients send."""

    def __init__(self, listen: Path, target: Path) -> None:
        self.listen = listen
        self.target = target
        self._sent = bytearray()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(listen))
        self._server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed by stop()
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(str(self.target))
            except OSError:
                client.close()
                upstream.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if record:
                    with self._lock:
                        if len(self._sent) < _RECORD_LIMIT:
                            self._sent += data
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def requests_for(self, marker: str) -> list[dict[str, list[str]]]:
        """Header blocks of recorded requests whose request line contains marker."""
        with self._lock:
            text = bytes(self._sent).decode("latin-1")
        found = []
        for block in text.split("\r\n\r\n"):
            lines = block.split("\r\n")
            # A body may precede the next request in the stream; find its request line.
            for index, line in enumerate(lines):
                if " HTTP/1." in line and marker in line.split(" HTTP/1.")[0]:
                    headers: dict[str, list[str]] = {}
                    for header in lines[index + 1 :]:
                        name, _, value = header.partition(":")
                        headers.setdefault(name.strip().lower(), []).append(value.strip())
                    found.append(headers)
                    break
        return found

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._server.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
