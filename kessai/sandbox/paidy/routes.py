"""The Paidy REST API (note §2.3), at the root of the emulator as at ``https://api.paidy.com/``.

| method | path | what |
| --- | --- | --- |
| POST | /payments | a token payment (``token_id``; 継続課金) |
| GET, PUT | /payments/{id} | retrieve; update ``order_ref`` / ``description`` / ``metadata`` |
| POST | /payments/{id}/captures | capture (always the full amount) |
| POST | /payments/{id}/refunds | refund ``{capture_id, amount?, reason?}`` |
| POST | /payments/{id}/close | close an authorized payment never captured |
| GET | /tokens, /tokens/{id} | list / retrieve tokens |
| POST | /tokens/{id}/suspend · resume · delete | ``{wallet_id?, reason{code, description}}`` |

Order of checks: faults → auth (``Authorization: Bearer <secret key>``, or Basic with the secret key as
paidy-wc documents [C S10]; else 401 ``authentication.failed``) → route (404) → ``Paidy-Version`` (Kessai's
strictness [I]: required, else 400) → JSON body (``Content-Type: application/json``) → the operation →
``drop_after_store``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from kessai.sandbox.atone.wsgi import (
    MethodNotAllowedError,
    Request,
    Response,
    RouteNotFoundError,
    Router,
    json_response,
    parse_json_object,
    text_response,
)
from kessai.sandbox.paidy.config import MerchantConfig
from kessai.sandbox.paidy.errors import Code, PaidyError, malformed
from kessai.sandbox.paidy.operations import PaidyOperations
from kessai.sandbox.paidy.state import Store
from kessai.sandbox.server import DropConnection

logger = logging.getLogger("kessai.sandbox.paidy.api")

API_PATHS = ("/payments", "/tokens")
MUTATING_METHODS = frozenset({"POST", "PUT"})
PAIDY_VERSION = "2018-04-10"
TOKEN_VERBS = frozenset({"suspend", "resume", "delete"})
FAULT_PAGE = "<html><head><title>{status}</title></head><body><h1>{status} {phrase}</h1></body></html>"


def is_api_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PATHS)


def authenticate(store: Store, authorization: str | None) -> MerchantConfig:
    if authorization:
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        secret = ""
        if scheme.lower() == "bearer":
            secret = credential
        elif scheme.lower() == "basic" and credential:
            try:
                decoded = base64.b64decode(credential, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            secret = decoded.partition(":")[0] or decoded.partition(":")[2]
        merchant = store.merchant_by_secret(secret) if secret else None
        if merchant is not None:
            return merchant
    raise PaidyError(Code.AUTHENTICATION, "Authorization: a valid secret key is required")


@dataclass(frozen=True)
class ApiCall:
    merchant: MerchantConfig
    method: str
    body: dict[str, Any]
    params: dict[str, str]


class PaidyApi:
    def __init__(self, store: Store, operations: PaidyOperations) -> None:
        self.store = store
        self.operations = operations
        self.router = Router()
        self.router.add("POST", "/payments", self._create)
        self.router.add("GET", "/payments/{id}", self._get)
        self.router.add("PUT", "/payments/{id}", self._update)
        self.router.add("POST", "/payments/{id}/captures", self._capture)
        self.router.add("POST", "/payments/{id}/refunds", self._refund)
        self.router.add("POST", "/payments/{id}/close", self._close)
        self.router.add("GET", "/tokens", self._tokens)
        self.router.add("GET", "/tokens/{id}", self._token)
        self.router.add("POST", "/tokens/{id}/{verb}", self._token_action)

    def handle(self, request: Request) -> Response:
        version = request.header("paidy-version")
        try:
            fault = self._apply_faults()
            if fault is not None:
                self.store.record_request(request.method, request.path, fault.status, "", version)
                return fault
            merchant = authenticate(self.store, request.header("authorization"))
            response = self._dispatch(request, merchant)
        except PaidyError as exc:
            self.store.record_request(request.method, request.path, exc.status, exc.code.value, version)
            return json_response(exc.status, exc.to_json())
        except DropConnection:
            self.store.record_request(request.method, request.path, None, "", version)
            raise
        self.store.record_request(request.method, request.path, response.status, "", version)
        return response

    def _apply_faults(self) -> Response | None:
        with self.store.lock:
            latency_ms = self.store.faults.take_latency()
        if latency_ms:
            time.sleep(latency_ms / 1000)
        with self.store.lock:
            status = self.store.faults.take_5xx()
        if status is None:
            return None
        page = FAULT_PAGE.format(status=status, phrase=HTTPStatus(status).phrase)
        return text_response(status, page, "text/html; charset=utf-8")

    def _dispatch(self, request: Request, merchant: MerchantConfig) -> Response:
        try:
            match = self.router.match(request.method, request.path)
        except (RouteNotFoundError, MethodNotAllowedError):
            raise PaidyError(Code.NOT_FOUND, f"{request.method} {request.path}: no such endpoint") from None
        version = request.header("paidy-version")
        if not version:
            raise malformed(f"Paidy-Version: the header is required (e.g. {PAIDY_VERSION})")
        call = ApiCall(merchant=merchant, method=request.method, body=self._body(request), params=match.params)
        payload: Any = match.handler(call)
        if request.method in MUTATING_METHODS:
            with self.store.lock:
                drop = self.store.faults.take_drop()
            if drop:
                logger.info(
                    "fault drop_after_store: %s %s stored, dropping the connection", request.method, request.path
                )
                raise DropConnection
        return json_response(200, payload)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if request.method == "GET" or not request.body.strip():
            return {}
        if not request.content_type_is_json():
            raise malformed("Content-Type: must be application/json")
        try:
            body = parse_json_object(request.body)
        except ValueError:
            raise malformed("body: is not valid JSON") from None
        if not isinstance(body, dict):
            raise malformed("body: must be a JSON object")
        return body

    # -- handlers --------------------------------------------------------------------------------

    def _create(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.create_payment(call.merchant, call.body)

    def _get(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.get(call.merchant, call.params["id"])

    def _update(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.update(call.merchant, call.params["id"], call.body)

    def _capture(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.capture(call.merchant, call.params["id"], call.body)

    def _refund(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.refund(call.merchant, call.params["id"], call.body)

    def _close(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.close(call.merchant, call.params["id"])

    def _tokens(self, call: ApiCall) -> list[dict[str, Any]]:
        return self.operations.list_tokens(call.merchant)

    def _token(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.get_token(call.merchant, call.params["id"])

    def _token_action(self, call: ApiCall) -> dict[str, Any]:
        verb = call.params["verb"]
        if verb not in TOKEN_VERBS:
            raise PaidyError(Code.NOT_FOUND, f"POST /tokens/{{id}}/{verb}: no such endpoint")
        return self.operations.token_action(call.merchant, call.params["id"], verb, call.body)
