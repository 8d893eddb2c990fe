"""The Paidy emulator on a real localhost port, plus a webhook receiver, for the adapter's HTTP tests."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx

from kessai.providers.base import OrderData, ProviderSettings
from kessai.providers.paidy import PaidyProvider
from kessai.sandbox.paidy import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY, PaidySandbox, PaidySandboxConfig, create_app
from kessai.sandbox.server import RunningServer, start_in_thread

# httpx builds an SSL context per request unless given one; the emulator is plain HTTP, so share one.
SHARED_SSL_CONTEXT = ssl.create_default_context()


@dataclass
class WebhookReceiver:
    """A WSGI app that stores every POST (path, headers, body) and answers 200."""

    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        with self.lock:
            self.received.append((str(environ.get("PATH_INFO", "")), headers, body))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [body for _, _, body in self.received]


@dataclass
class Emulator:
    app: PaidySandbox
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method, f"{self.url}/_sandbox{path}", json=body, timeout=10.0, verify=SHARED_SSL_CONTEXT
        )
        assert response.status_code == 200, response.text
        return response.json()

    def reset(self) -> None:
        self.control("POST", "/reset")

    def faults(self, **spec: Any) -> None:
        self.control("POST", "/faults", spec)

    def entry(self, payment_id: str) -> dict[str, Any]:
        entries: list[dict[str, Any]] = self.control("GET", "/ledger")["payments"]
        return next(e for e in entries if e["payment"]["id"] == payment_id)

    def payments(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "/ledger")["payments"])

    def checkout(self, provider: PaidyProvider, order: OrderData, **buyer: str) -> str:
        """What the buyer does in the modal, from the adapter's own checkout config → the payment id."""
        payload = dict(provider.checkout_config(order, capture=False).widget["payload"])
        answer = self.control("POST", "/checkout", {"payload": payload, **buyer})
        return str(answer["callback"]["id"])

    def token(self, email: str = "successful.payment@paidy.com", phone: str = "08000000001") -> str:
        return str(self.control("POST", "/tokens", {"email": email, "phone": phone, "name1": "山田 太郎"})["id"])

    def provider(
        self, *, secret_key: str = DEFAULT_SECRET_KEY, timeout: float = 5.0, base_url: str | None = None
    ) -> PaidyProvider:
        settings = ProviderSettings(
            credentials={"public_key": DEFAULT_PUBLIC_KEY, "secret_key": secret_key},
            environment="test",
            base_url=base_url or self.url + "/",
            options={"store_name": "Kessai テスト店"},
            timeout=timeout,
        )
        return PaidyProvider(settings)


def running_emulator(config: PaidySandboxConfig | None = None) -> Iterator[Emulator]:
    app = create_app(config or PaidySandboxConfig(webhook_retry_delays=(0.05,)))
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
        time.sleep(0.02)
    return True
