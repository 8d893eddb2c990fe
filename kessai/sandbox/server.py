"""A small threaded WSGI server shared by every provider emulator.

Standard library only (``wsgiref`` + ``socketserver.ThreadingMixIn``), so an emulator can run in a
test process, in a thread next to the Kessai demo, or on its own from the command line.

Connection handling: each connection carries exactly one request and every response says
``Connection: close``. HTTP/1.1 clients such as httpx therefore never try to reuse a socket the
server is about to close, and there is no keep-alive state to get wrong.

An application may raise :class:`DropConnection` to make the server close the connection without
writing any response (the emulators use it for their "drop after store" fault).
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import IO, Any, cast
from wsgiref.handlers import SimpleHandler
from wsgiref.headers import Headers
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.types import WSGIApplication

logger = logging.getLogger("kessai.sandbox.server")

SERVER_SOFTWARE = "kessai-sandbox/1"
MAX_REQUEST_LINE = 65536
# How often a background server checks for stop(): this bounds how long stop() takes.
START_IN_THREAD_POLL_SECONDS = 0.01


class DropConnection(Exception):
    """Raised by an application: close the client connection without sending a response."""


class _ServerHandler(SimpleHandler):
    """Runs one WSGI call; adds ``Connection: close`` and understands :class:`DropConnection`."""

    http_version = "1.1"
    server_software = SERVER_SOFTWARE
    # Set by BaseHandler at run time (not declared in typeshed).
    headers: Headers
    status: str | None
    bytes_sent: int

    def __init__(self, request_handler: _RequestHandler, environ: dict[str, str]) -> None:
        super().__init__(
            request_handler.rfile,
            cast(IO[bytes], request_handler.wfile),
            sys.stderr,
            environ,
            multithread=True,
            multiprocess=False,
        )
        self.request_handler = request_handler
        self.dropped = False

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        # Hop-by-hop headers may not come from the application (PEP 3333); the server adds it.
        self.headers["Connection"] = "close"

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], DropConnection):
            self.dropped = True
            return
        super().handle_error()

    def log_exception(
        self,
        exc_info: tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        logger.error("unhandled error in sandbox application", exc_info=exc_info)

    def close(self) -> None:
        try:
            if self.status and not self.dropped:
                self.request_handler.log_request(self.status.split(" ", 1)[0], self.bytes_sent)
        finally:
            super().close()


class _RequestHandler(WSGIRequestHandler):
    """One request per connection; quiet logging through :mod:`logging`."""

    server: _ThreadingWSGIServer

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.raw_requestline or not self.parse_request():
            return
        handler = _ServerHandler(self, self.get_environ())
        app = self.server.get_app()
        if app is None:
            raise RuntimeError("no WSGI application configured")
        handler.run(app)
        if handler.dropped:
            self._abort_connection()

    def _abort_connection(self) -> None:
        """Close the socket at once: the client sees a disconnect and no response."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            logger.debug("socket already closed while dropping the connection")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default listen backlog is 5. Every request opens a connection (one request per connection),
    # so a few dozen concurrent callers overflowed it: the kernel dropped their SYNs and each retried after 1 s
    # (seen in bench/hub_overhead.py as 1-second outliers at concurrency 8 and more).
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


def _make_server(app: WSGIApplication, host: str, port: int) -> _ThreadingWSGIServer:
    server_class: type[_ThreadingWSGIServer] = _ThreadingWSGIServer
    if ":" in host:
        server_class = type("_ThreadingWSGIServer6", (_ThreadingWSGIServer,), {"address_family": socket.AF_INET6})
    server = server_class((host, port), _RequestHandler)
    server.set_app(app)
    return server


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@dataclass
class RunningServer:
    """A server running in a background thread. ``url`` has no trailing slash."""

    host: str
    port: int
    _server: _ThreadingWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        return _url(self.host, self.port)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting connections and release the port (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout)
        self._server.server_close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``app`` from a daemon thread; ``port=0`` picks a free port (see ``.port``)."""
    server = _make_server(app, host, port)
    bound_port = int(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": START_IN_THREAD_POLL_SECONDS},
        name=f"kessai-sandbox-{bound_port}",
        daemon=True,
    )
    thread.start()
    return RunningServer(host=host, port=bound_port, _server=server, _thread=thread)


def serve_forever(
    app: WSGIApplication,
    host: str = "127.0.0.1",
    port: int = 8101,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` in the calling thread until interrupted.

    ``ready`` is called with the server's URL once the port is bound (useful with ``port=0``).
    """
    server = _make_server(app, host, port)
    if ready is not None:
        ready(_url(host, int(server.server_address[1])))
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
