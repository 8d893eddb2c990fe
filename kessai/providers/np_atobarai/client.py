"""HTTP client for the NP後払い REST API (protocol note §1.1, §1.2).

- ``Authorization: Basic base64(merchant_code:sp_code)`` and ``X-NP-Terminal-Id: <terminal_id>`` [C];
- every call is a batch envelope ``{"transactions": [...]}`` of 1–1,000 items [C];
- an explicit connect and read timeout on every call (NP recommends ~30 s; the read timeout is capped there);
- one request id (uuid4 hex) per call, logged and kept on errors and results for the 決済エラーログ;
- credentials are never logged, never put in errors, never shown by ``repr``.

:meth:`NpAtobaraiClient.call` returns the parsed batch (results and per-item errors) for a 200 or a 400 with
a readable body; :meth:`NpAtobaraiClient.call_one` is the single-item form the adapter uses and raises the
item's error. Transport failures, 401/403, 5xx/429 and unreadable bodies raise :mod:`kessai.providers.base`
errors (see :mod:`.errors`).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import ssl
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import httpx

from kessai.providers.base import ProviderRequestInvalid
from kessai.providers.np_atobarai import const
from kessai.providers.np_atobarai.api_types import BatchResponse, MalformedResponse
from kessai.providers.np_atobarai.errors import (
    connection_error,
    error_from_codes,
    error_from_status,
    malformed_response_error,
    timeout_error,
)

__all__ = ["HttpMethod", "NpAtobaraiClient", "basic_auth_value", "chunks"]

logger = logging.getLogger("kessai.providers.np_atobarai")

HttpMethod = Literal["POST", "PATCH"]


def basic_auth_value(merchant_code: str, sp_code: str) -> str:
    """``Basic base64(merchant_code:sp_code)`` [C S1,S2,S3]."""
    return "Basic " + base64.b64encode(f"{merchant_code}:{sp_code}".encode()).decode("ascii")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context (certifi's CA bundle) for every call: building it takes ~70 ms, which a
    client per call would otherwise pay each time (and a 伝票番号同期 of hundreds of orders many times)."""
    return httpx.create_ssl_context()


def chunks(items: Sequence[Mapping[str, Any]], size: int = const.MAX_BATCH_ITEMS) -> Iterator[list[Mapping[str, Any]]]:
    """Split items into envelopes NP accepts (≤1,000 each)."""
    if not 1 <= size <= const.MAX_BATCH_ITEMS:
        raise ValueError(f"np_atobarai: batch size must be 1..{const.MAX_BATCH_ITEMS}")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class NpAtobaraiClient:
    """One NP後払い merchant (加盟店コード + SPコード + 端末ID) at one base URL."""

    def __init__(
        self,
        *,
        merchant_code: str,
        sp_code: str,
        terminal_id: str,
        base_url: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not merchant_code or not sp_code or not terminal_id:
            raise ValueError("np_atobarai: merchant_code, sp_code and terminal_id are required")
        if timeout <= 0:
            raise ValueError("np_atobarai: timeout must be positive")
        self._auth = basic_auth_value(merchant_code, sp_code)
        self._terminal_id = terminal_id
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        read = min(timeout, const.MAX_READ_TIMEOUT)
        self.timeout = httpx.Timeout(read, connect=min(read, const.CONNECT_TIMEOUT_CAP))
        self._transport = transport

    def __repr__(self) -> str:  # never the codes
        return f"NpAtobaraiClient(base_url={self.base_url!r})"

    # ----------------------------------------------------------------------- batch calls

    def call(self, action: str, method: HttpMethod, path: str, items: Sequence[Mapping[str, Any]]) -> BatchResponse:
        """Send one envelope and return its parsed answer (a 200, or a 400 with ``errors``)."""
        if len(items) > const.MAX_BATCH_ITEMS:
            raise ProviderRequestInvalid(
                "一度に指定できる取引は1,000件までです。", code=f"{action}:EPRO0102", payload={"items": len(items)}
            )
        return self._send(action, method, path, {const.ENVELOPE_KEY: list(items)})

    def call_one(
        self, action: str, method: HttpMethod, path: str, item: Mapping[str, Any], *, id_field: str, target_id: str
    ) -> tuple[Mapping[str, Any], BatchResponse]:
        """One item: its result, or its error raised. Every error of a one-item envelope is that item's
        (whatever ``id`` NP puts on it); a 200 without exactly one result for the item is unreadable."""
        batch = self.call(action, method, path, [item])
        if batch.codes:
            raise error_from_codes(
                action, batch.codes, status=batch.status, body=batch.body, request_id=batch.request_id
            )
        if batch.status != 200 or len(batch.results) != 1:
            raise malformed_response_error(
                action, status=batch.status, request_id=batch.request_id, detail="not exactly one result"
            )
        result = batch.results[0]
        answered = result.get(id_field)
        if answered not in (None, "", target_id):
            raise malformed_response_error(
                action, status=batch.status, request_id=batch.request_id, detail=f"result for another {id_field}"
            )
        return result, batch

    def probe(self) -> BatchResponse:
        """接続テスト: ``POST /authorizations/find`` with an empty envelope (expects 400 EPRO0101)."""
        return self._send("test", "POST", const.PATH_AUTHORIZATIONS_FIND, const.CONNECTION_PROBE_BODY)

    # ----------------------------------------------------------------------- plumbing

    def _headers(self) -> dict[str, str]:
        return {
            const.HEADER_AUTHORIZATION: self._auth,
            const.HEADER_TERMINAL_ID: self._terminal_id,
            const.HEADER_CONTENT_TYPE: const.JSON_MEDIA_TYPE,
            const.HEADER_ACCEPT: const.JSON_MEDIA_TYPE,
        }

    def _send(self, action: str, method: HttpMethod, path: str, body: Mapping[str, Any]) -> BatchResponse:
        request_id = uuid.uuid4().hex
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        started = time.monotonic()
        try:
            with httpx.Client(
                timeout=self.timeout, transport=self._transport, follow_redirects=False, verify=_tls_context()
            ) as http:
                response = http.request(method, self.base_url + path, content=content, headers=self._headers())
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
        status = response.status_code
        if status in (401, 403) or status == 429 or status >= 500:
            raise error_from_status(action, status, body=data, request_id=request_id)
        if status not in (200, 400):
            raise error_from_status(action, status, body=data, request_id=request_id)
        try:
            batch = BatchResponse.parse(status, data, request_id=request_id)
        except MalformedResponse as exc:
            raise malformed_response_error(action, status=status, request_id=request_id, detail=str(exc)) from exc
        if status == 400 and not batch.errors:
            # A 400 must say why; one that does not is not understood (closed by default).
            raise malformed_response_error(action, status=status, request_id=request_id, detail="400 without errors")
        return batch

    @staticmethod
    def _log(action: str, method: str, path: str, outcome: str, started: float, request_id: str) -> None:
        elapsed_ms = int((time.monotonic() - started) * 1000)
        logger.info(
            "np_atobarai %s %s /%s -> %s in %d ms (request_id=%s)",
            action,
            method,
            path,
            outcome,
            elapsed_ms,
            request_id,
        )
