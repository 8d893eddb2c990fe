"""Structured logs: one JSON object per line, with the request id, and never a secret.

``RequestIdMiddleware`` takes ``X-Request-ID`` from the caller (or makes one), keeps it in a context
variable for every log line of the request, and returns it in the response header.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("kessai_request_id", default="")

# Full API keys, bearer tokens, webhook secrets and atone buyer tokens never reach a log line.
_SECRETS = re.compile(
    r"(sk_(?:test|live)_[A-Za-z0-9_\-]{8})[A-Za-z0-9_\-]+"
    r"|(whsec_)[A-Za-z0-9+/=]+"
    r"|(Bearer\s+)\S+"
    r"|(Basic\s+)\S+"
    r"|(tk_[A-Za-z0-9]{4})[A-Za-z0-9]+",
    re.IGNORECASE,
)
_VALID_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")


def redact(text: str) -> str:
    def keep_prefix(match: re.Match[str]) -> str:
        prefix = next(g for g in match.groups() if g is not None)
        return f"{prefix}…[redacted]"

    return _SECRETS.sub(keep_prefix, text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "") or request_id_var.get(),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response
