"""The NP後払い REST API under ``/v1/`` (protocol note §1.1, §1.2).

| method | path | what |
| --- | --- | --- |
| POST | /v1/transactions | 取引登録 (screened: 00 / 10 / 20 / 40) |
| PATCH | /v1/transactions/update | 取引変更 (re-screened; E0100115 once shipped) |
| PATCH | /v1/transactions/cancel | 取引キャンセル |
| POST | /v1/shipments | 出荷報告 (pd_company_code, slip_no, bill_issued_date for 同梱) |
| POST | /v1/transactions/reregister | 一部返品取引再登録 (a new id; only after the shipment report) |
| POST | /v1/transactions/payments/find | 支払状況 |
| POST | /v1/authorizations/find | 与信結果取得 (resolves 審査中 as configured) |

Every body is the envelope ``{"transactions": [...]}`` (1–1,000 items: EPRO0101 / EPRO0102; the same NP id
twice: EPRO0106). Each item succeeds or fails on its own: HTTP 200 ``{"results": [...]}`` when all succeed,
otherwise HTTP 400 with ``errors: [{"codes": [...], "id": ...}]`` — and ``results`` for the items that did
succeed [I: the note says an answer may carry both].

Order of checks: faults → Basic auth (401) → ``X-NP-Terminal-Id`` (403) → route (404 / 405) → Content-Type
(EKSB0002) → JSON and envelope (EKSB0003, EPRO0101/0102/0106) → each item → ``drop_after_store``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from kessai.sandbox.np_atobarai import codes
from kessai.sandbox.np_atobarai.config import MerchantConfig
from kessai.sandbox.np_atobarai.http import (
    MethodNotAllowedError,
    Request,
    Response,
    RouteNotFoundError,
    Router,
    json_response,
    parse_json,
    text_response,
)
from kessai.sandbox.np_atobarai.operations import Operations
from kessai.sandbox.np_atobarai.state import Refused, Store
from kessai.sandbox.server import DropConnection

logger = logging.getLogger("kessai.sandbox.np_atobarai.api")

API_PREFIX = "/v1"
MAX_ITEMS = 1000
FAULT_PAGE = "<html><head><title>{status}</title></head><body><h1>{status} {phrase}</h1></body></html>"
# [I] A partly failed envelope is answered with HTTP 400 carrying both arrays.
PARTIAL_FAILURE_STATUS = 400


class EnvelopeError(Exception):
    """The whole request is refused (HTTP status + body)."""

    def __init__(self, status: int, body: dict[str, Any], item_codes: tuple[str, ...] = ()) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.codes = item_codes


def _envelope_error(code: str, target: str = "") -> EnvelopeError:
    return EnvelopeError(400, {"errors": [{"codes": [code], "id": target}]}, (code,))


def authenticate(store: Store, request: Request) -> MerchantConfig:
    """``Authorization: Basic base64(merchant_code:sp_code)`` (401), then ``X-NP-Terminal-Id`` (403)."""
    merchant: MerchantConfig | None = None
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    if scheme.lower() == "basic" and token.strip():
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        code, sep, sp_code = decoded.partition(":")
        with store.lock:
            candidate = store.merchants.get(code)
        if sep and candidate is not None and candidate.sp_code == sp_code:
            merchant = candidate
    if merchant is None:
        raise EnvelopeError(401, {"message": "Unauthorized"})
    if (request.header("x-np-terminal-id") or "").strip() != merchant.terminal_id:
        raise EnvelopeError(403, {"message": "Forbidden: unknown terminal id"})
    return merchant


@dataclass(frozen=True)
class Endpoint:
    name: str
    id_field: str  # the item's target id (used in ``errors[].id``)
    mutating: bool
    run: Callable[[MerchantConfig, dict[str, Any], str | None], dict[str, Any]]
    unique_ids: bool  # EPRO0106 applies (NP id targets)


class NpApi:
    def __init__(self, store: Store, operations: Operations) -> None:
        self.store = store
        self.operations = operations
        ops = operations
        self.router: Router[Endpoint] = Router()
        for method, path, endpoint in (
            ("POST", "/transactions", Endpoint("register", "shop_transaction_id", True, ops.register, False)),
            (
                "PATCH",
                "/transactions/update",
                Endpoint("update", "np_transaction_id", True, lambda m, i, t: ops.update(m, i), True),
            ),
            (
                "PATCH",
                "/transactions/cancel",
                Endpoint("cancel", "np_transaction_id", True, lambda m, i, t: ops.cancel(m, i), True),
            ),
            (
                "POST",
                "/shipments",
                Endpoint("shipment", "np_transaction_id", True, lambda m, i, t: ops.ship(m, i), True),
            ),
            (
                "POST",
                "/transactions/reregister",
                Endpoint("reregister", "base_np_transaction_id", True, ops.reregister, True),
            ),
            (
                "POST",
                "/transactions/payments/find",
                Endpoint("payments_find", "np_transaction_id", False, lambda m, i, t: ops.find_payment(m, i), True),
            ),
            (
                "POST",
                "/authorizations/find",
                Endpoint(
                    "authorizations_find",
                    "np_transaction_id",
                    False,
                    lambda m, i, t: ops.find_authorization(m, i),
                    True,
                ),
            ),
        ):
            self.router.add(method, API_PREFIX + path, endpoint)

    def handles(self, path: str) -> bool:
        return path == API_PREFIX or path.startswith(API_PREFIX + "/")

    def handle(self, request: Request) -> Response:
        items = 0
        try:
            fault = self._apply_faults()
            if fault is not None:
                self.store.record_request(request.method, request.path, fault.status, 0, ())
                return fault
            merchant = authenticate(self.store, request)
            endpoint = self._route(request)
            batch = self._envelope(request, endpoint)
            items = len(batch)
            status, body, item_codes, changed = self._run(endpoint, merchant, batch, request)
        except EnvelopeError as exc:
            self.store.record_request(request.method, request.path, exc.status, items, exc.codes)
            return json_response(exc.status, exc.body)
        if endpoint.mutating and changed:
            with self.store.lock:
                drop = self.store.faults.take_drop()
            if drop:
                logger.info(
                    "fault drop_after_store: %s %s stored, dropping the connection", request.method, request.path
                )
                self.store.record_request(request.method, request.path, None, items, item_codes)
                raise DropConnection
        self.store.record_request(request.method, request.path, status, items, item_codes)
        return json_response(status, body)

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

    def _route(self, request: Request) -> Endpoint:
        try:
            match = self.router.match(request.method, request.path)
        except MethodNotAllowedError:
            raise EnvelopeError(405, {"message": f"{request.method} is not allowed on {request.path}"}) from None
        except RouteNotFoundError:
            raise EnvelopeError(404, {"message": f"no endpoint {request.path}"}) from None
        return match.handler

    @staticmethod
    def _envelope(request: Request, endpoint: Endpoint) -> list[dict[str, Any]]:
        if not request.content_type_is_json():
            raise _envelope_error(codes.CONTENT_TYPE)
        try:
            body = parse_json(request.body)
        except ValueError:
            raise _envelope_error(codes.MALFORMED) from None
        items = body.get("transactions") if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _envelope_error(codes.MALFORMED)
        if len(items) < 1:
            raise _envelope_error(codes.EMPTY)
        if len(items) > MAX_ITEMS:
            raise _envelope_error(codes.TOO_MANY)
        if endpoint.unique_ids:
            seen: set[str] = set()
            for item in items:
                target = item.get(endpoint.id_field)
                key = str(target) if target not in (None, "") else ""
                if key and key in seen:
                    raise _envelope_error(codes.DUPLICATE_ID, key)
                seen.add(key)
        return items

    def _run(
        self, endpoint: Endpoint, merchant: MerchantConfig, items: list[dict[str, Any]], request: Request
    ) -> tuple[int, dict[str, Any], tuple[str, ...], bool]:
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        terminal_id = request.header("x-np-terminal-id")
        with self.store.lock:
            for item in items:
                target = item.get(endpoint.id_field)
                try:
                    results.append(endpoint.run(merchant, item, terminal_id))
                except Refused as refused:
                    errors.append({"codes": refused.codes, "id": "" if target is None else str(target)})
        all_codes = tuple(code for error in errors for code in error["codes"])
        if not errors:
            return 200, {"results": results}, (), bool(results)
        body: dict[str, Any] = {"errors": errors}
        if results:
            body = {"results": results, **body}
        return PARTIAL_FAILURE_STATUS, body, all_codes, bool(results)
