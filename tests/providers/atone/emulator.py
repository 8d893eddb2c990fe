"""The atone emulator on a real localhost port, plus a webhook receiver, for the adapter's HTTP tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx

from kessai.providers.atone import AtoneProvider
from kessai.providers.base import ProviderSettings
from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY, AtoneSandbox, create_app
from kessai.sandbox.server import RunningServer, start_in_thread

MOBILE = "090-1234-5678"


@dataclass
class WebhookReceiver:
    """A WSGI app that stores every POST (path, body) and answers 200."""

    received: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        with self.lock:
            self.received.append((str(environ.get("PATH_INFO", "")), body))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    def bodies(self, path: str) -> list[bytes]:
        with self.lock:
            return [body for p, body in self.received if p == path]


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that remembers the wire method and override header of each request."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.headers.get("X-HTTP-Method-Override")))
        return super().handle_request(request)


@dataclass
class Emulator:
    app: AtoneSandbox
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1/"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox{path}", json=body, timeout=10.0)
        assert response.status_code == 200, response.text
        return response.json()

    def reset(self) -> None:
        self.control("POST", "/reset")

    def token(self, phone: str = MOBILE) -> str:
        return str(self.control("POST", "/authenticate", {"phone_number": phone})["authentication_token"])

    def faults(self, **spec: Any) -> None:
        self.control("POST", "/faults", spec)

    def ledger(self) -> dict[str, Any]:
        return dict(self.control("GET", "/ledger"))

    def entry(self, transaction_id: str) -> dict[str, Any]:
        return next(e for e in self.ledger()["transactions"] if e["transaction"]["id"] == transaction_id)

    def wait_for_transactions(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            entries: list[dict[str, Any]] = self.ledger()["transactions"]
            if len(entries) >= count or time.monotonic() > deadline:
                return entries
            time.sleep(0.05)

    def provider(
        self,
        *,
        secret_key: str = DEFAULT_SECRET_KEY,
        timeout: float = 5.0,
        options: dict[str, Any] | None = None,
        terminal_id: str = "",
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
    ) -> AtoneProvider:
        credentials = {"public_key": DEFAULT_PUBLIC_KEY, "secret_key": secret_key}
        if terminal_id:
            credentials["terminal_id"] = terminal_id
        settings = ProviderSettings(
            credentials=credentials,
            environment="test",
            base_url=base_url or self.base_url,
            options=options or {},
            timeout=timeout,
        )
        return AtoneProvider(settings, transport=transport)


def running_emulator() -> Iterator[Emulator]:
    app = create_app()
    server = start_in_thread(app)
    try:
        yield Emulator(app=app, server=server)
    finally:
        server.stop()
        app.close()


def running_receiver() -> Iterator[tuple[WebhookReceiver, RunningServer]]:
    receiver = WebhookReceiver()
    server = start_in_thread(receiver)
    try:
        yield receiver, server
    finally:
        server.stop()


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
