"""HTTP client for GMO後払い (protocol note): XML ``<request>`` bodies POSTed to ``…/auto/<op>.do``.

- ``shopInfo{authenticationId, shopCode, connectPassword}`` is put into every body here, nowhere else;
- an explicit connect and read timeout on every call;
- answers are parsed with the defused parser of :mod:`.wire` (no DTD, no entities, UTF-8, size cap);
- one request id (uuid4 hex) per call, logged and kept on errors and results for the 決済エラーログ;
- credentials are never logged, never put in errors, never shown by ``repr``.

An NG answer is raised as a :mod:`kessai.providers.base` error (see :mod:`.errors`) unless the caller
says which codes it handles itself (``accept_codes``: e.g. "already cancelled" on a cancel).
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from kessai.providers.gmo_atobarai import const
from kessai.providers.gmo_atobarai.api_types import MalformedResponse, Response
from kessai.providers.gmo_atobarai.errors import (
    connection_error,
    error_from_ng,
    http_error,
    malformed_response_error,
    timeout_error,
)
from kessai.providers.gmo_atobarai.wire import UnsafeXml, build, parse, to_tree

__all__ = ["ApiResponse", "GmoAtobaraiClient"]


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every call: building one (loading the CA bundle) per request costs
    ~100 ms. It is read-only after creation, so sharing it between threads is safe."""
    return httpx.create_ssl_context()


logger = logging.getLogger("kessai.providers.gmo_atobarai")


@dataclass(frozen=True)
class ApiResponse:
    """A parsed answer: ``result`` OK, or NG with only codes the caller accepted."""

    response: Response
    request_id: str


class GmoAtobaraiClient:
    """One GMO後払い shop (認証ID + 加盟店コード + 接続パスワード) at one base URL."""

    def __init__(
        self,
        *,
        authentication_id: str,
        shop_code: str,
        connect_password: str,
        base_url: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not (authentication_id and shop_code and connect_password):
            raise ValueError("gmo_atobarai: authentication_id, shop_code and connect_password are required")
        if timeout <= 0:
            raise ValueError("gmo_atobarai: timeout must be positive")
        self._shop_info = {
            "authenticationId": authentication_id,
            "shopCode": shop_code,
            "connectPassword": connect_password,
        }
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, const.CONNECT_TIMEOUT_CAP))
        self._transport = transport

    def __repr__(self) -> str:  # never the password
        return f"GmoAtobaraiClient(base_url={self.base_url!r})"

    def call(
        self,
        action: str,
        path: str,
        body: Mapping[str, Any],
        *,
        accept_codes: frozenset[str] = frozenset(),
        destination_field: str = "destinations[0]",
    ) -> ApiResponse:
        """POST ``<request><shopInfo/>…body…</request>`` to ``path``; returns the parsed answer."""
        request_id = uuid.uuid4().hex
        content = build(const.REQUEST_ROOT, {"shopInfo": self._shop_info, **body})
        started = time.monotonic()
        try:
            with httpx.Client(
                timeout=self.timeout, transport=self._transport, follow_redirects=False, verify=_ssl_context()
            ) as http:
                answer = http.post(
                    self.base_url + path,
                    content=content,
                    headers={"Content-Type": const.CONTENT_TYPE, "Accept": "application/xml, text/xml"},
                )
        except httpx.TimeoutException as exc:
            self._log(action, path, "timeout", started, request_id)
            raise timeout_error(action, request_id=request_id) from exc
        except httpx.HTTPError as exc:  # connect error, reset, dropped connection, protocol error
            self._log(action, path, type(exc).__name__, started, request_id)
            raise connection_error(action, request_id=request_id, detail=type(exc).__name__) from exc
        self._log(action, path, str(answer.status_code), started, request_id)

        if answer.status_code != 200:
            raise http_error(action, answer.status_code, answer.text[:2000], request_id=request_id)
        try:
            response = Response.parse(to_tree(parse(answer.content)))
        except (UnsafeXml, MalformedResponse) as exc:
            raise malformed_response_error(
                action, status=answer.status_code, request_id=request_id, detail=str(exc)
            ) from exc
        if not response.ok and not (response.errors and all(e.code in accept_codes for e in response.errors)):
            raise error_from_ng(
                action, response.errors, request_id=request_id, raw=response.raw, destination_field=destination_field
            )
        return ApiResponse(response=response, request_id=request_id)

    @staticmethod
    def _log(action: str, path: str, outcome: str, started: float, request_id: str) -> None:
        elapsed_ms = int((time.monotonic() - started) * 1000)
        logger.info(
            "gmo_atobarai %s POST /%s -> %s in %d ms (request_id=%s)", action, path, outcome, elapsed_ms, request_id
        )
