"""The atone REST API under ``/v1/`` (protocol note §4).

| method | path | what |
| --- | --- | --- |
| POST | /v1/transactions | 取引登録 / 取引更新 / 継続課金 |
| GET | /v1/transactions/{id} | 取引参照 (also POST + ``X-HTTP-Method-Override: GET``) |
| GET | /v1/transactions | 取引参照 with the body ``{"id": …}`` (CS-Cart style, via the override) |
| PATCH | /v1/transactions/{id}/settle | 売上確定 |
| PATCH | /v1/transactions/{id}/refund | 取消 (no ``amount_refund``) / 一部払戻 |

Order of checks: faults → Basic auth (EATN0306, 401) → method override → route → Content-Type
(EATN0352) → JSON (EATN0397) → the operation → ``drop_after_store``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from kessai.sandbox.atone import errors
from kessai.sandbox.atone.config import MerchantConfig
from kessai.sandbox.atone.errors import AtoneError, Code
from kessai.sandbox.atone.operations import AtoneOperations
from kessai.sandbox.atone.state import Store
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
from kessai.sandbox.server import DropConnection

logger = logging.getLogger("kessai.sandbox.atone.api")

API_PREFIX = "/v1/transactions"
OVERRIDABLE_METHODS = frozenset({"GET", "POST", "PATCH"})
MUTATING_METHODS = frozenset({"POST", "PATCH"})
FAULT_PAGE = "<html><head><title>{status}</title></head><body><h1>{status} {phrase}</h1></body></html>"


def authenticate_basic(store: Store, authorization: str | None) -> MerchantConfig:
    """``Basic base64(secret_key)``; ``base64(secret_key + ":")`` is accepted too (decision 1)."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "basic" and token.strip():
            try:
                decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            secret = decoded[:-1] if decoded.endswith(":") else decoded
            merchant = store.merchant_by_secret(secret) if secret else None
            if merchant is not None:
                return merchant
    raise errors.fail(Code.AUTHENTICATION_FAILED, "Authorization", name=errors.NAME_UNAUTHORIZED)


@dataclass(frozen=True)
class ApiCall:
    merchant: MerchantConfig
    method: str
    body: dict[str, Any]
    params: dict[str, str]
    terminal_id: str | None


class AtoneApi:
    def __init__(self, store: Store, operations: AtoneOperations) -> None:
        self.store = store
        self.operations = operations
        self.router = Router()
        self.router.add("POST", API_PREFIX, self._create)
        self.router.add("GET", API_PREFIX, self._get_by_body)
        self.router.add("GET", API_PREFIX + "/{id}", self._get)
        self.router.add("PATCH", API_PREFIX + "/{id}/settle", self._settle)
        self.router.add("PATCH", API_PREFIX + "/{id}/refund", self._refund)

    def handle(self, request: Request) -> Response:
        method = request.method
        try:
            fault = self._apply_faults()
            if fault is not None:
                self.store.record_request(method, request.path, fault.status, ())
                return fault
            merchant = authenticate_basic(self.store, request.header("authorization"))
            method = self._effective_method(request)
            response = self._dispatch(request, merchant, method)
        except AtoneError as exc:
            self.store.record_request(method, request.path, exc.status, tuple(exc.codes))
            return json_response(exc.status, exc.to_json())
        except DropConnection:
            self.store.record_request(method, request.path, None, ())
            raise
        self.store.record_request(method, request.path, response.status, ())
        return response

    def _apply_faults(self) -> Response | None:
        with self.store.lock:
            latency_ms = self.store.faults.take_latency()
        if latency_ms:
            time.sleep(latency_ms / 1000)
        with self.store.lock:
            status = self.store.faults.take_5xx()
            unavailable = status is None and self.store.faults.take_eatn0399()
        if status is not None:
            page = FAULT_PAGE.format(status=status, phrase=HTTPStatus(status).phrase)
            return text_response(status, page, "text/html; charset=utf-8")
        if unavailable:
            raise errors.fail(Code.UNAVAILABLE)
        return None

    @staticmethod
    def _effective_method(request: Request) -> str:
        override = request.header("x-http-method-override")
        if request.method != "POST" or override is None:
            return request.method
        method = override.strip().upper()
        if method not in OVERRIDABLE_METHODS:
            raise errors.fail(Code.BAD_REQUEST, "X-HTTP-Method-Override", errors.METHOD_OVERRIDE_INVALID)
        return method

    def _dispatch(self, request: Request, merchant: MerchantConfig, method: str) -> Response:
        try:
            match = self.router.match(method, request.path)
        except MethodNotAllowedError:
            raise errors.fail(
                Code.BAD_REQUEST, None, errors.METHOD_NOT_ALLOWED, name=errors.NAME_METHOD_NOT_ALLOWED
            ) from None
        except RouteNotFoundError:
            raise errors.fail(Code.BAD_REQUEST, None, errors.NOT_FOUND_PATH, name=errors.NAME_NOT_FOUND) from None
        call = ApiCall(
            merchant=merchant,
            method=method,
            body=self._body(request, method),
            params=match.params,
            terminal_id=request.header("x-np-terminal-id"),
        )
        payload: dict[str, Any] = match.handler(call)
        if method in MUTATING_METHODS:
            with self.store.lock:
                drop = self.store.faults.take_drop()
            if drop:
                logger.info("fault drop_after_store: %s %s stored, dropping the connection", method, request.path)
                raise DropConnection
        return json_response(200, payload)

    @staticmethod
    def _body(request: Request, method: str) -> dict[str, Any]:
        """The JSON object body; an empty body is ``{}`` except on a create (which must carry JSON)."""
        if not request.body.strip() and method != "POST":
            return {}
        if not request.content_type_is_json():
            raise errors.fail(Code.CONTENT_TYPE, "Content-Type")
        try:
            body = parse_json_object(request.body)
        except ValueError:
            raise errors.fail(Code.MALFORMED_JSON) from None
        if not isinstance(body, dict):
            raise errors.fail(Code.BAD_REQUEST, None, errors.NOT_A_JSON_OBJECT)
        return body

    # -- handlers: each returns the JSON payload -------------------------------------------------

    def _create(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.create(call.merchant, call.body, call.terminal_id)

    def _get_by_body(self, call: ApiCall) -> dict[str, Any]:
        transaction_id = call.body.get("id")
        if not isinstance(transaction_id, str) or not transaction_id:
            raise errors.fail(Code.BAD_REQUEST, "id", errors.ID_REQUIRED)
        return self.operations.get(call.merchant, transaction_id)

    def _get(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.get(call.merchant, call.params["id"])

    def _settle(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.settle(call.merchant, call.params["id"])

    def _refund(self, call: ApiCall) -> dict[str, Any]:
        return self.operations.refund(call.merchant, call.params["id"], call.body)
