"""The control endpoint ``/_sandbox/…`` (not part of Paidy): JSON in and out, no authentication.

| method | path | what |
| --- | --- | --- |
| GET | /_sandbox | merchants, settings and faults in one answer |
| GET, POST | /_sandbox/merchants | list; register or update one merchant (upsert by ``public_key``) |
| GET, POST, DELETE | /_sandbox/faults | show; set (keys given replace, others stay); clear all |
| GET, POST | /_sandbox/settings | ``clock_offset_days`` |
| GET | /_sandbox/ledger | every payment (+ state, movement counts), every token, the movement log |
| GET | /_sandbox/webhooks | the webhook delivery log (``?wait=SECONDS`` waits for pending deliveries first) |
| GET | /_sandbox/requests | every REST request: method, path, status, error code, Paidy-Version |
| POST | /_sandbox/checkout | the modal's approval, no browser: ``{payload, email?, phone?, public_key?, token?}`` |
| POST | /_sandbox/tokens | a recurring token: ``{email, phone, name1?, public_key?, wallet_id?, description?}`` |
| POST | /_sandbox/tokens/{id}/suspend · resume | the consumer suspends / resumes (authority ``consumer``) |
| POST | /_sandbox/reset | back to the configuration the emulator was started with |

Errors: HTTP 400 (404 for an unknown path) with ``{"error": "<message>"}``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kessai.sandbox.atone.wsgi import (
    MethodNotAllowedError,
    Request,
    Response,
    RouteNotFoundError,
    Router,
    json_response,
    parse_json_object,
)
from kessai.sandbox.paidy.checkout import Checkout
from kessai.sandbox.paidy.config import MerchantConfig
from kessai.sandbox.paidy.errors import PaidyError
from kessai.sandbox.paidy.faults import FaultSpecError
from kessai.sandbox.paidy.operations import TEST_OTP, PaidyOperations
from kessai.sandbox.paidy.state import Store
from kessai.sandbox.paidy.webhooks import WebhookSender

PREFIX = "/_sandbox"
MAX_WAIT_SECONDS = 30.0


class ControlError(ValueError):
    """A control request that cannot be applied (answered with HTTP 400)."""


def merchant_to_json(merchant: MerchantConfig) -> dict[str, Any]:
    return dataclasses.asdict(merchant)


def merge_merchant(existing: MerchantConfig | None, body: dict[str, Any]) -> MerchantConfig:
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
    name = body.get("name", base.name)
    if not isinstance(name, str):
        raise ControlError("name must be a string")
    webhook_url = body.get("webhook_url", base.webhook_url)
    if webhook_url == "":
        webhook_url = None
    if webhook_url is not None and (
        not isinstance(webhook_url, str) or not webhook_url.startswith(("http://", "https://"))
    ):
        raise ControlError("webhook_url must be an http(s) URL or null")
    days = body.get("authorization_days", base.authorization_days)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ControlError("authorization_days must be a positive integer")
    return dataclasses.replace(base, secret_key=secret_key, name=name, webhook_url=webhook_url, authorization_days=days)


class Control:
    def __init__(self, store: Store, operations: PaidyOperations, webhooks: WebhookSender, checkout: Checkout) -> None:
        self.store = store
        self.operations = operations
        self.webhooks = webhooks
        self.checkout = checkout
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
            ("POST", "/checkout", self._checkout),
            ("POST", "/tokens", self._create_token),
            ("POST", "/tokens/{token_id}/{verb}", self._consumer_token_action),
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
            result: Any = match.handler(request, body, **match.params)
        except (ControlError, FaultSpecError) as exc:
            return json_response(400, {"error": str(exc)})
        except PaidyError as exc:
            return json_response(400, {"error": exc.description, "paidy": exc.to_json()})
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

    def _merchant(self, body: dict[str, Any]) -> MerchantConfig:
        with self.store.lock:
            public_key = body.get("public_key") or next(iter(self.store.merchants))
            merchant = self.store.merchants.get(public_key) if isinstance(public_key, str) else None
        if merchant is None:
            raise ControlError(f"unknown public_key {public_key!r}")
        return merchant

    # -- handlers --------------------------------------------------------------------------------

    def _overview(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "service": "Paidy sandbox (Kessai)",
            "api_base_url": request.host_url + "/",
            "checkout_script_url": request.host_url + "/apps/",
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
            return {"clock_offset_days": self.store.clock.offset_days, "now": self.store.now().isoformat()}

    def _set_settings(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"clock_offset_days"}
        if unknown:
            raise ControlError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        offset = body.get("clock_offset_days")
        if offset is not None:
            if isinstance(offset, bool) or not isinstance(offset, int):
                raise ControlError("clock_offset_days must be an integer")
            with self.store.lock:
                self.store.clock.offset_days = offset
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

    def _checkout(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """The modal's confirm step without a browser. ``email``/``phone`` default to the payload's buyer."""
        unknown = set(body) - {"payload", "email", "phone", "public_key", "token"}
        if unknown:
            raise ControlError(f"unknown field(s): {', '.join(sorted(unknown))}")
        merchant = self._merchant(body)
        payload = body.get("payload")
        if not isinstance(payload, dict):
            raise ControlError("payload (the Checkout payload object) is required")
        raw_buyer = payload.get("buyer")
        buyer: dict[str, Any] = raw_buyer if isinstance(raw_buyer, dict) else {}
        token = body.get("token")
        if token is True:
            token = {"wallet_id": "default", "type": "recurring", "description": ""}
        return self.checkout.approve(
            {
                "api_key": merchant.public_key,
                "payload": payload,
                "email": body.get("email", buyer.get("email")),
                "phone": body.get("phone", buyer.get("phone")),
                "otp": TEST_OTP,
                "token": token if isinstance(token, dict) else None,
            }
        )

    def _create_token(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"email", "phone", "name1", "name2", "public_key", "wallet_id", "description", "address"}
        if unknown:
            raise ControlError(f"unknown field(s): {', '.join(sorted(unknown))}")
        merchant = self._merchant(body)
        buyer = {k: body.get(k) for k in ("name1", "name2", "email", "phone") if body.get(k) is not None}
        address = body.get("address") if isinstance(body.get("address"), dict) else None
        wallet = body.get("wallet_id")
        description = body.get("description")
        return self.operations.create_token(
            merchant,
            buyer,
            address=address,
            wallet_id=wallet if isinstance(wallet, str) and wallet else "default",
            description=description if isinstance(description, str) else "",
        )

    def _consumer_token_action(
        self, request: Request, body: dict[str, Any], token_id: str, verb: str
    ) -> dict[str, Any]:
        if verb not in ("suspend", "resume"):
            raise ControlError("the consumer can suspend or resume a token")
        with self.store.lock:
            token = self.store.tokens.get(token_id)
            merchant = self.store.merchants.get(token.merchant) if token else None
        if token is None or merchant is None:
            raise ControlError(f"unknown token {token_id}")
        reason = {"code": "consumer.requested", "description": "sandbox: the consumer's own action"}
        return self.operations.token_action(
            merchant, token_id, verb, {"wallet_id": token.wallet_id, "reason": reason}, authority="consumer"
        )

    def _reset(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.webhooks.reset()
        self.store.reset()
        return {"reset": True}
