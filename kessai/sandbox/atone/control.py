"""The control endpoint ``/_sandbox/…`` (not part of atone): JSON in and out, no authentication.

| method | path | what |
| --- | --- | --- |
| GET | /_sandbox | merchants, settings and faults in one answer |
| GET, POST | /_sandbox/merchants | list; register or update one store (upsert by ``public_key``) |
| GET, POST, DELETE | /_sandbox/faults | show; set (keys given replace, others stay); clear all |
| GET, POST | /_sandbox/settings | ``clock_offset_days``, ``buyer_limit`` |
| GET | /_sandbox/ledger | every transaction (+ state, movement counts) and the movement log |
| GET | /_sandbox/webhooks | the webhook delivery log (``?wait=SECONDS`` waits for pending deliveries first) |
| GET | /_sandbox/requests | every REST request: effective method, path, status, EATN codes |
| POST | /_sandbox/authenticate | ``{"phone_number", "public_key"?, "phone_valid"?}`` → a ``tk_`` token |
| POST | /_sandbox/tokens/revoke | ``{"authentication_token"}``: later creates with it answer EATN0303 |
| POST | /_sandbox/reset | back to the configuration the emulator was started with |

Errors: HTTP 400 (404 for an unknown path) with ``{"error": "<message>"}``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kessai.sandbox.atone.config import ALL_TRANSACTION_OPTIONS, MerchantConfig
from kessai.sandbox.atone.errors import AtoneError
from kessai.sandbox.atone.faults import FaultSpecError
from kessai.sandbox.atone.operations import AtoneOperations
from kessai.sandbox.atone.state import Store
from kessai.sandbox.atone.webhooks import WebhookSender
from kessai.sandbox.atone.wsgi import (
    MethodNotAllowedError,
    Request,
    Response,
    RouteNotFoundError,
    Router,
    json_response,
    parse_json_object,
)

PREFIX = "/_sandbox"
MAX_WAIT_SECONDS = 30.0
URL_FIELDS = ("payment_webhook_url", "authentication_webhook_url")


class ControlError(ValueError):
    """A control request that cannot be applied (answered with HTTP 400)."""


def merchant_to_json(merchant: MerchantConfig) -> dict[str, Any]:
    data = dataclasses.asdict(merchant)
    data["transaction_options"] = list(merchant.transaction_options)
    return data


def _optional_text(body: dict[str, Any], key: str, current: str | None) -> str | None:
    if key not in body:
        return current
    value = body[key]
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ControlError(f"{key} must be a string or null")
    if key in URL_FIELDS and not value.startswith(("http://", "https://")):
        raise ControlError(f"{key} must be an http(s) URL")
    if key == "failure_notification_email" and "@" not in value:
        raise ControlError("failure_notification_email must be a mail address")
    return value


def merge_merchant(existing: MerchantConfig | None, body: dict[str, Any]) -> MerchantConfig:
    """Apply a ``POST /_sandbox/merchants`` body to an existing store, or create one."""
    unknown = set(body) - {f.name for f in dataclasses.fields(MerchantConfig)}
    if unknown:
        raise ControlError(f"unknown merchant field(s): {', '.join(sorted(unknown))}")
    public_key = body.get("public_key")
    if not isinstance(public_key, str) or not public_key:
        raise ControlError("public_key is required")
    secret_key = body.get("secret_key", existing.secret_key if existing else None)
    if not isinstance(secret_key, str) or not secret_key:
        raise ControlError("secret_key is required for a new merchant")
    base = existing or MerchantConfig(public_key=public_key, secret_key=secret_key)
    contract_valid = body.get("contract_valid", base.contract_valid)
    if not isinstance(contract_valid, bool):
        raise ControlError("contract_valid must be a boolean")
    options = body.get("transaction_options", list(base.transaction_options))
    if not isinstance(options, list) or not all(
        o in ALL_TRANSACTION_OPTIONS and not isinstance(o, bool) for o in options
    ):
        raise ControlError(f"transaction_options must be a list drawn from {list(ALL_TRANSACTION_OPTIONS)}")
    name = body.get("name", base.name)
    if not isinstance(name, str):
        raise ControlError("name must be a string")
    return dataclasses.replace(
        base,
        secret_key=secret_key,
        name=name,
        payment_webhook_url=_optional_text(body, "payment_webhook_url", base.payment_webhook_url),
        authentication_webhook_url=_optional_text(body, "authentication_webhook_url", base.authentication_webhook_url),
        failure_notification_email=_optional_text(body, "failure_notification_email", base.failure_notification_email),
        contract_valid=contract_valid,
        transaction_options=tuple(options),
    )


def _int_setting(body: dict[str, Any], key: str, minimum: int | None) -> int | None:
    if key not in body:
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        raise ControlError(f"{key} must be an integer" + (f" >= {minimum}" if minimum is not None else ""))
    return value


class Control:
    def __init__(self, store: Store, operations: AtoneOperations, webhooks: WebhookSender) -> None:
        self.store = store
        self.operations = operations
        self.webhooks = webhooks
        self.router = Router()
        for method, path, handler in (
            ("GET", "", self._overview),
            ("GET", "/merchants", self._merchants),
            ("POST", "/merchants", self._upsert_merchant),
            ("GET", "/faults", self._faults),
            ("POST", "/faults", self._set_faults),
            ("DELETE", "/faults", self._clear_faults),
            ("GET", "/settings", self._settings),
            ("POST", "/settings", self._set_settings),
            ("GET", "/ledger", self._ledger),
            ("GET", "/webhooks", self._webhooks),
            ("GET", "/requests", self._requests),
            ("POST", "/authenticate", self._authenticate),
            ("POST", "/tokens/revoke", self._revoke),
            ("POST", "/reset", self._reset),
        ):
            self.router.add(method, PREFIX + path, handler)

    def handle(self, request: Request) -> Response:
        try:
            match = self.router.match(request.method, request.path)
        except RouteNotFoundError:
            return json_response(404, {"error": f"no control endpoint {request.path}"})
        except MethodNotAllowedError:
            return json_response(405, {"error": f"{request.method} is not allowed on {request.path}"})
        try:
            body = self._body(request)
            result: Any = match.handler(request, body)
        except (ControlError, FaultSpecError) as exc:
            return json_response(400, {"error": str(exc)})
        except AtoneError as exc:
            return json_response(400, {"error": exc.message, "atone": exc.to_json()})
        return json_response(200, result)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if request.method == "GET" or not request.body.strip():
            return {}
        try:
            body = parse_json_object(request.body)
        except ValueError as exc:
            raise ControlError(f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ControlError("the body must be a JSON object")
        return body

    # -- handlers --------------------------------------------------------------------------------

    def _overview(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "service": "atone sandbox (Kessai)",
            "api_base_url": request.host_url + "/v1/",
            "widget_url": request.host_url + "/v1/atone.js",
            **self._merchants(request, body),
            "settings": self._settings(request, body),
            "faults": self._faults(request, body),
        }

    def _merchants(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return {"merchants": [merchant_to_json(m) for m in self.store.merchants.values()]}

    def _upsert_merchant(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            existing = self.store.merchants.get(str(body.get("public_key", "")))
            merchant = merge_merchant(existing, body)
            clash = self.store.merchant_by_secret(merchant.secret_key)
            if clash is not None and clash.public_key != merchant.public_key:
                raise ControlError("another merchant already uses this secret_key")
            self.store.merchants[merchant.public_key] = merchant
            return merchant_to_json(merchant)

    def _faults(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return self.store.faults.to_json()

    def _set_faults(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            self.store.faults.update(body)
            return self.store.faults.to_json()

    def _clear_faults(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            self.store.faults.clear()
            return self.store.faults.to_json()

    def _settings(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return {
                "clock_offset_days": self.store.clock.offset_days,
                "buyer_limit": self.store.buyer_limit,
                "now": self.store.now().isoformat(timespec="seconds"),
            }

    def _set_settings(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"clock_offset_days", "buyer_limit"}
        if unknown:
            raise ControlError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        offset = _int_setting(body, "clock_offset_days", None)
        limit = _int_setting(body, "buyer_limit", 1)
        with self.store.lock:
            if offset is not None:
                self.store.clock.offset_days = offset
            if limit is not None:
                self.store.buyer_limit = limit
        return self._settings(request, body)

    def _ledger(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return self.store.ledger()

    def _webhooks(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        wait = request.query.get("wait")
        idle = True
        if wait:
            try:
                seconds = min(max(float(wait[0]), 0.0), MAX_WAIT_SECONDS)
            except ValueError:
                raise ControlError("wait must be a number of seconds") from None
            idle = self.webhooks.wait_idle(seconds)
        with self.store.lock:
            return {"idle": idle, "deliveries": [d.to_json() for d in self.store.deliveries]}

    def _requests(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return {"requests": [r.to_json() for r in self.store.requests]}

    def _authenticate(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        phone = body.get("phone_number")
        if not isinstance(phone, str):
            raise ControlError("phone_number is required")
        phone_valid = body.get("phone_valid", True)
        if not isinstance(phone_valid, bool):
            raise ControlError("phone_valid must be a boolean")
        with self.store.lock:
            public_key = body.get("public_key") or next(iter(self.store.merchants))
            merchant = self.store.merchants.get(public_key) if isinstance(public_key, str) else None
        if merchant is None:
            raise ControlError(f"unknown public_key {public_key!r}")
        buyer = self.operations.authenticate(merchant, phone, phone_valid=phone_valid)
        return {
            "authentication_token": buyer.authentication_token,
            "user_no": buyer.user_no,
            "public_key": merchant.public_key,
        }

    def _revoke(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        token = body.get("authentication_token")
        if not isinstance(token, str) or not self.operations.revoke_token(token):
            raise ControlError("unknown authentication_token")
        return {"authentication_token": token, "revoked": True}

    def _reset(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.webhooks.reset()
        self.store.reset()
        return {"reset": True}
