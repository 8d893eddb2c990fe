"""Tiny WSGI plumbing for the NP後払い emulator: a request, a response and a path router. No framework."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIEnvironment

MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    host_url: str  # scheme://host[:port] as the client addressed us

    @classmethod
    def from_environ(cls, environ: WSGIEnvironment) -> Request:
        headers = {
            key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        # Always read the whole body: a server that closes a socket with unread input resets it.
        body = environ["wsgi.input"].read(min(length, MAX_BODY_BYTES)) if length > 0 else b""
        scheme = str(environ.get("wsgi.url_scheme", "http"))
        host = headers.get("host") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
        raw_path = str(environ.get("PATH_INFO", "/")).encode("latin-1").decode("utf-8", "replace")
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            path=raw_path or "/",
            query=parse_qs(str(environ.get("QUERY_STRING", ""))),
            headers=headers,
            body=body,
            host_url=f"{scheme}://{host}",
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def content_type_is_json(self) -> bool:
        media_type = (self.header("content-type") or "").split(";", 1)[0].strip().lower()
        return media_type == "application/json"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, start_response: StartResponse) -> Iterable[bytes]:
        phrase = HTTPStatus(self.status).phrase
        headers = [
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(self.body))),
            ("Cache-Control", "no-store"),
            *self.headers,
        ]
        start_response(f"{self.status} {phrase}", headers)
        return [self.body]


def json_response(status: int, data: Any) -> Response:
    return Response(status, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def text_response(status: int, text: str, content_type: str) -> Response:
    return Response(status, text.encode("utf-8"), content_type=content_type)


H = TypeVar("H")


@dataclass(frozen=True)
class Match(Generic[H]):
    handler: H
    params: dict[str, str]


class RouteNotFoundError(LookupError):
    pass


class MethodNotAllowedError(LookupError):
    pass


class Router(Generic[H]):
    """``/_sandbox/transactions/{id}/pay``-style patterns; ``{name}`` matches one path segment. ``H`` is
    whatever the owner routes to (a handler function, an endpoint description)."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], H]] = []

    def add(self, method: str, template: str, handler: H) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append((method.upper(), re.compile(f"^{regex}$"), handler))

    def match(self, method: str, path: str) -> Match[H]:
        path = path.rstrip("/") or "/"
        path_found = False
        for route_method, pattern, handler in self._routes:
            found = pattern.match(path)
            if found is None:
                continue
            path_found = True
            if route_method == method:
                return Match(handler, found.groupdict())
        if path_found:
            raise MethodNotAllowedError(path)
        raise RouteNotFoundError(path)


def parse_json(body: bytes) -> Any:
    """Decode a JSON body (raises ``ValueError`` on malformed JSON or bad UTF-8)."""
    return json.loads(body.decode("utf-8"))
