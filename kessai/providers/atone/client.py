"""HTTP client for the atone REST API (protocol note §2, §4).

- ``Authorization: Basic base64(secret_key)`` — no username, no colon (decision 1);
- ``Content-Type`` / ``Accept: application/json``; ``X-NP-Terminal-Id`` when a terminal id is set;
- real verbs by default, or every call as POST + ``X-HTTP-Method-Override`` (``method_override=True``;
  a GET then carries ``{"id": …}`` as its body, as the CS-Cart addon does);
- an explicit connect and read timeout on every call;
- one request id (uuid4 hex) per call, logged and kept on errors and results for the 決済エラーログ;
- credentials are never logged, never put in errors, never shown by ``repr``.

Every failure is raised as a :mod:`kessai.providers.base` error (see :mod:`.errors`).
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx

from kessai.providers.atone import const
from kessai.providers.atone.api_types import ErrorBody
from kessai.providers.atone.errors import (
    connection_error,
    error_from_response,
    malformed_response_error,
    timeout_error,
)
from kessai.providers.base import ProviderRequestInvalid

__all__ = ["ApiResponse", "AtoneClient", "basic_auth_value"]

logger = logging.getLogger("kessai.providers.atone")

HttpMethod = Literal["GET", "POST", "PATCH"]


def basic_auth_value(secret_key: str) -> str:
    """``Basic base64(secret_key)``: the secret alone, no colon (decision 1)."""
    return "Basic " + base64.b64encode(secret_key.encode("utf-8")).decode("ascii")


@dataclass(frozen=True)
class ApiResponse:
    """A successful (2xx, JSON object, no ``errors``) answer."""

    status: int
    data: Mapping[str, Any]
    request_id: str


# Loading the CA bundle costs ~40 ms; one verified TLS context is built once and shared (it is thread-safe).
_TLS_CONTEXT = ssl.create_default_context()


class AtoneClient:
    """One atone store account (secret key + optional terminal id) at one base URL."""

    def __init__(
        self,
        *,
        secret_key: str,
        base_url: str,
        timeout: float = 10.0,
        terminal_id: str = "",
        method_override: bool = const.DEFAULT_METHOD_OVERRIDE,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not secret_key:
            raise ValueError("atone: secret_key is required")
        if timeout <= 0:
            raise ValueError("atone: timeout must be positive")
        self._auth = basic_auth_value(secret_key)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.terminal_id = terminal_id
        self.method_override = method_override
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, const.CONNECT_TIMEOUT_CAP))
        self._transport = transport

    def __repr__(self) -> str:  # never the key
        return f"AtoneClient(base_url={self.base_url!r}, method_override={self.method_override})"

    # ----------------------------------------------------------------------- endpoints

    def create_transaction(self, body: Mapping[str, Any], *, action: str = "create") -> ApiResponse:
        """``POST /transactions``: 取引登録 / 取引更新 (with ``updated_transactions``) / 継続課金."""
        return self._call(action, "POST", const.PATH_TRANSACTIONS, body)

    def get_transaction(self, transaction_id: str, *, action: str = "fetch") -> ApiResponse:
        """``GET /transactions/{id}``: 取引参照."""
        path = const.PATH_TRANSACTION.format(id=self._quote(transaction_id, action))
        return self._call(action, "GET", path, None, override_body={"id": transaction_id})

    def settle(self, transaction_id: str, *, action: str = "settle") -> ApiResponse:
        """``PATCH /transactions/{id}/settle``: 売上確定 (empty JSON body)."""
        path = const.PATH_SETTLE.format(id=self._quote(transaction_id, action))
        return self._call(action, "PATCH", path, {})

    def refund(self, transaction_id: str, body: Mapping[str, Any], *, action: str = "refund") -> ApiResponse:
        """``PATCH /transactions/{id}/refund``: 課金払戻 — full cancel without ``amount_refund``."""
        path = const.PATH_REFUND.format(id=self._quote(transaction_id, action))
        return self._call(action, "PATCH", path, body)

    # ----------------------------------------------------------------------- plumbing

    @staticmethod
    def _quote(transaction_id: str, action: str) -> str:
        if not transaction_id or not transaction_id.strip():
            raise ProviderRequestInvalid("atoneの取引IDが指定されていません。", code=f"{action}:no_id")
        return quote(transaction_id, safe="")

    def _headers(self, method: HttpMethod) -> dict[str, str]:
        headers = {
            const.HEADER_AUTHORIZATION: self._auth,
            const.HEADER_CONTENT_TYPE: const.JSON_MEDIA_TYPE,
            const.HEADER_ACCEPT: const.JSON_MEDIA_TYPE,
        }
        if self.terminal_id:
            headers[const.HEADER_TERMINAL_ID] = self.terminal_id
        if self.method_override:
            headers[const.HEADER_METHOD_OVERRIDE] = method
        return headers

    def _call(
        self,
        action: str,
        method: HttpMethod,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        override_body: Mapping[str, Any] | None = None,
    ) -> ApiResponse:
        request_id = uuid.uuid4().hex
        wire_method: HttpMethod = "POST" if self.method_override else method
        if self.method_override and body is None:
            body = override_body
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        url = self.base_url + path
        started = time.monotonic()
        try:
            with httpx.Client(
                timeout=self.timeout, transport=self._transport, follow_redirects=False, verify=_TLS_CONTEXT
            ) as http:
                response = http.request(wire_method, url, content=content, headers=self._headers(method))
        except httpx.TimeoutException as exc:
            self._log(action, method, path, "timeout", started, request_id)
            raise timeout_error(action, request_id=request_id) from exc
        except httpx.HTTPError as exc:  # connect error, reset, dropped connection, protocol error
            self._log(action, method, path, type(exc).__name__, started, request_id)
            raise connection_error(action, request_id=request_id, detail=type(exc).__name__) from exc
        self._log(action, method, path, str(response.status_code), started, request_id)

        try:
            data: Any = response.json()
        except ValueError:  # includes JSONDecodeError and UnicodeDecodeError
            data = None

        if not 200 <= response.status_code < 300:
            raise error_from_response(action, response.status_code, data, request_id=request_id)
        if not isinstance(data, Mapping):
            raise malformed_response_error(
                action,
                status=response.status_code,
                request_id=request_id,
                detail="body is not a JSON object",
            )
        if ErrorBody.parse(data) is not None:  # 2xx with a non-empty errors array: a failure (W2)
            raise error_from_response(action, response.status_code, data, request_id=request_id)
        return ApiResponse(status=response.status_code, data=data, request_id=request_id)

    @staticmethod
    def _log(action: str, method: str, path: str, outcome: str, started: float, request_id: str) -> None:
        elapsed_ms = int((time.monotonic() - started) * 1000)
        logger.info(
            "atone %s %s /%s -> %s in %d ms (request_id=%s)",
            action,
            method,
            path,
            outcome,
            elapsed_ms,
            request_id,
        )
