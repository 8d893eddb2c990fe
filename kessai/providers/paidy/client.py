"""HTTP client for the Paidy REST API (protocol note §2.1, §2.3).

- ``Authorization: Bearer <secret key>``, ``Paidy-Version: 2018-04-10``, JSON in and out;
- an explicit connect and read timeout on every call;
- one request id (uuid4 hex) per call, logged and kept on errors and results for the 決済エラーログ;
- credentials are never logged, never put in errors, never shown by ``repr``.

Every failure is raised as a :mod:`kessai.providers.base` error (see :mod:`.errors`).
"""

from __future__ import annotations

import functools
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

from kessai.providers.base import ProviderRequestInvalid
from kessai.providers.paidy import const
from kessai.providers.paidy.errors import (
    connection_error,
    error_from_response,
    malformed_response_error,
    timeout_error,
)

__all__ = ["ApiResponse", "PaidyClient"]


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every call: building one (loading the CA bundle) per request costs
    ~100 ms. It is read-only after creation, so sharing it between threads is safe."""
    return httpx.create_ssl_context()


logger = logging.getLogger("kessai.providers.paidy")

HttpMethod = Literal["GET", "POST", "PUT"]


@dataclass(frozen=True)
class ApiResponse:
    """A successful (2xx, JSON) answer."""

    status: int
    data: Any
    request_id: str


class PaidyClient:
    """One Paidy merchant (secret key) at one base URL."""

    def __init__(
        self,
        *,
        secret_key: str,
        base_url: str = const.API_BASE_URL,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not secret_key:
            raise ValueError("paidy: secret_key is required")
        if timeout <= 0:
            raise ValueError("paidy: timeout must be positive")
        self._auth = "Bearer " + secret_key
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, const.CONNECT_TIMEOUT_CAP))
        self._transport = transport

    def __repr__(self) -> str:  # never the key
        return f"PaidyClient(base_url={self.base_url!r})"

    # ----------------------------------------------------------------------- payments

    def create_payment(
        self, body: Mapping[str, Any], *, action: str = "charge", destination_field: str = "customer"
    ) -> ApiResponse:
        """``POST /payments`` (token payments: ``token_id`` instead of buyer info)."""
        return self._call(action, "POST", const.PATH_PAYMENTS, body, destination_field=destination_field)

    def get_payment(self, payment_id: str, *, action: str = "fetch") -> ApiResponse:
        """``GET /payments/{id}``: the full object with captures and refunds."""
        return self._call(action, "GET", const.PATH_PAYMENT.format(id=self._quote(payment_id, action)), None)

    def update_payment(self, payment_id: str, body: Mapping[str, Any], *, action: str = "update") -> ApiResponse:
        """``PUT /payments/{id}`` (``order_ref``, ``description``, ``metadata`` only)."""
        return self._call(action, "PUT", const.PATH_PAYMENT.format(id=self._quote(payment_id, action)), body)

    def capture(
        self, payment_id: str, body: Mapping[str, Any] | None = None, *, action: str = "capture"
    ) -> ApiResponse:
        """``POST /payments/{id}/captures`` ``{metadata?}`` — no amount: always the full amount."""
        path = const.PATH_CAPTURES.format(id=self._quote(payment_id, action))
        return self._call(action, "POST", path, dict(body or {}))

    def refund(self, payment_id: str, body: Mapping[str, Any], *, action: str = "refund") -> ApiResponse:
        """``POST /payments/{id}/refunds`` ``{capture_id, amount?, reason?, metadata?}``."""
        return self._call(action, "POST", const.PATH_REFUNDS.format(id=self._quote(payment_id, action)), body)

    def close(self, payment_id: str, *, action: str = "cancel") -> ApiResponse:
        """``POST /payments/{id}/close``: an authorized payment that was never captured."""
        return self._call(action, "POST", const.PATH_CLOSE.format(id=self._quote(payment_id, action)), {})

    # ----------------------------------------------------------------------- tokens

    def list_tokens(self, *, action: str = "tokens") -> ApiResponse:
        return self._call(action, "GET", const.PATH_TOKENS, None)

    def get_token(self, token_id: str, *, action: str = "token") -> ApiResponse:
        return self._call(action, "GET", const.PATH_TOKEN.format(id=self._quote(token_id, action)), None)

    def token_action(self, token_id: str, verb: str, body: Mapping[str, Any], *, action: str = "") -> ApiResponse:
        """``POST /tokens/{id}/suspend|resume|delete`` ``{wallet_id?, reason{code, description}}``."""
        if verb not in const.TOKEN_ACTIONS:
            raise ValueError(f"paidy: unknown token action {verb!r}")
        action = action or f"token_{verb}"
        path = const.PATH_TOKEN_ACTION.format(id=self._quote(token_id, action), action=verb)
        return self._call(action, "POST", path, body)

    # ----------------------------------------------------------------------- plumbing

    @staticmethod
    def _quote(identifier: str, action: str) -> str:
        if not identifier or not identifier.strip():
            raise ProviderRequestInvalid("PaidyのIDが指定されていません。", code=f"{action}:no_id")
        return quote(identifier.strip(), safe="")

    def _headers(self) -> dict[str, str]:
        return {
            const.HEADER_AUTHORIZATION: self._auth,
            const.HEADER_VERSION: const.API_VERSION,
            const.HEADER_CONTENT_TYPE: const.JSON_MEDIA_TYPE,
            const.HEADER_ACCEPT: const.JSON_MEDIA_TYPE,
        }

    def _call(
        self,
        action: str,
        method: HttpMethod,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        destination_field: str = "customer",
    ) -> ApiResponse:
        request_id = uuid.uuid4().hex
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        url = self.base_url + path
        started = time.monotonic()
        try:
            with httpx.Client(
                timeout=self.timeout, transport=self._transport, follow_redirects=False, verify=_ssl_context()
            ) as http:
                response = http.request(method, url, content=content, headers=self._headers())
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
            raise error_from_response(
                action, response.status_code, data, request_id=request_id, destination_field=destination_field
            )
        if data is None:
            raise malformed_response_error(
                action, status=response.status_code, request_id=request_id, detail="body is not JSON"
            )
        return ApiResponse(status=response.status_code, data=data, request_id=request_id)

    @staticmethod
    def _log(action: str, method: str, path: str, outcome: str, started: float, request_id: str) -> None:
        elapsed_ms = int((time.monotonic() - started) * 1000)
        logger.info(
            "paidy %s %s /%s -> %s in %d ms (request_id=%s)",
            action,
            method,
            path,
            outcome,
            elapsed_ms,
            request_id,
        )
