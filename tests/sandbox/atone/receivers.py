"""Local receivers for what the emulator sends: a webhook endpoint and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from aiosmtpd.controller import Controller

from kessai.sandbox.server import RunningServer, start_in_thread


@dataclass
class ReceivedHook:
    path: str
    content_type: str
    user_agent: str
    body: dict[str, Any]


@dataclass
class WebhookReceiver:
    """Answers each POST with the next scripted status (then ``default_status``) and records it."""

    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    received: list[ReceivedHook] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self.lock:
            self.received.append(
                ReceivedHook(
                    path=environ["PATH_INFO"],
                    content_type=environ.get("CONTENT_TYPE", ""),
                    user_agent=environ.get("HTTP_USER_AGENT", ""),
                    body=json.loads(raw.decode("utf-8")),
                )
            )
            status = self.statuses.pop(0) if self.statuses else self.default_status
        start_response(f"{status} X", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]


@contextmanager
def webhook_receiver(receiver: WebhookReceiver) -> Iterator[RunningServer]:
    with start_in_thread(receiver) as running:
        yield running


class _MailSink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[int, _MailSink]]:
    sink = _MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()
