"""Tiny WSGI plumbing for the NP後払い emulator: the request/response objects shared with the other emulators
(``kessai.sandbox.atone.wsgi``) and a generic path router. No framework."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kessai.sandbox.atone.wsgi import MAX_BODY_BYTES, Request, Response, json_response, text_response

__all__ = [
    "MAX_BODY_BYTES",
    "Match",
    "MethodNotAllowedError",
    "Request",
    "Response",
    "RouteNotFoundError",
    "Router",
    "json_response",
    "parse_json",
    "text_response",
]


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
