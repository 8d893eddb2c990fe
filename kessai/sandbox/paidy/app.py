"""The Paidy emulator as one WSGI application: ``create_app(config) -> PaidySandbox``.

Paths: ``/payments…`` and ``/tokens…`` (REST API, :mod:`.routes`), ``/apps/`` (Checkout stand-in,
:mod:`.checkout`), ``/_sandbox/…`` (control, :mod:`.control`), ``/`` (a JSON index).

The object is a WSGI callable and also exposes its state for in-process tests (``store``, ``ledger()``,
``deliveries()``, ``checkout()``, ``create_token()``, ``set_faults()``, ``reset()``, ``wait_for_webhooks()``).
Call ``close()`` when done: it stops the webhook thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from kessai.sandbox.atone.wsgi import Request, Response, json_response
from kessai.sandbox.paidy.checkout import PREFIX as CHECKOUT_PREFIX
from kessai.sandbox.paidy.checkout import Checkout
from kessai.sandbox.paidy.config import MerchantConfig, PaidySandboxConfig
from kessai.sandbox.paidy.control import PREFIX as CONTROL_PREFIX
from kessai.sandbox.paidy.control import Control
from kessai.sandbox.paidy.errors import Code, PaidyError
from kessai.sandbox.paidy.operations import TEST_OTP, PaidyOperations
from kessai.sandbox.paidy.routes import PaidyApi, is_api_path
from kessai.sandbox.paidy.state import Store
from kessai.sandbox.paidy.webhooks import WebhookSender
from kessai.sandbox.server import DropConnection

logger = logging.getLogger("kessai.sandbox.paidy")


class PaidySandbox:
    def __init__(self, config: PaidySandboxConfig) -> None:
        self.config = config
        self.store = Store(config)
        self.webhooks = WebhookSender(self.store)
        self.operations = PaidyOperations(self.store, self.webhooks)
        self.api = PaidyApi(self.store, self.operations)
        self.checkout_page = Checkout(self.store, self.operations)
        self.control = Control(self.store, self.operations, self.webhooks, self.checkout_page)

    # -- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        try:
            response = self.route(request)
        except DropConnection:
            raise
        except Exception:
            logger.exception("paidy sandbox failed on %s %s", request.method, request.path)
            response = json_response(500, PaidyError(Code.MALFORMED, "internal sandbox error").to_json())
        return response(start_response)

    def route(self, request: Request) -> Response:
        path = request.path
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self.control.handle(request)
        if path == CHECKOUT_PREFIX or path.startswith(CHECKOUT_PREFIX + "/"):
            return self.checkout_page.handle(request)
        if is_api_path(path):
            return self.api.handle(request)
        if path == "/":
            return json_response(
                200,
                {
                    "service": "Paidy sandbox (Kessai)",
                    "api_base_url": request.host_url + "/",
                    "checkout_script_url": request.host_url + CHECKOUT_PREFIX + "/",
                    "control_url": request.host_url + CONTROL_PREFIX,
                },
            )
        error = PaidyError(Code.NOT_FOUND, f"{request.method} {path}: no such endpoint")
        return json_response(error.status, error.to_json())

    # -- in-process helpers ----------------------------------------------------------------------

    @property
    def default_merchant(self) -> MerchantConfig:
        with self.store.lock:
            return next(iter(self.store.merchants.values()))

    def ledger(self) -> dict[str, Any]:
        return self.store.ledger()

    def deliveries(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [d.to_json() for d in self.store.deliveries]

    def checkout(
        self, payload: dict[str, Any], *, email: str | None = None, phone: str | None = None
    ) -> dict[str, Any]:
        """What the buyer's approval in the modal does (OTP ``8888``): returns the payment object."""
        raw_buyer = payload.get("buyer")
        buyer: dict[str, Any] = raw_buyer if isinstance(raw_buyer, dict) else {}
        answer = self.checkout_page.approve(
            {
                "api_key": self.default_merchant.public_key,
                "payload": payload,
                "email": email if email is not None else buyer.get("email"),
                "phone": phone if phone is not None else buyer.get("phone"),
                "otp": TEST_OTP,
            }
        )
        payment: dict[str, Any] = answer["payment"]
        return payment

    def create_token(self, email: str, phone: str, name1: str = "山田 太郎") -> dict[str, Any]:
        """A recurring token approved by this buyer (fires ``activate_success``)."""
        buyer = {"name1": name1, "email": email, "phone": phone}
        return self.operations.create_token(self.default_merchant, buyer)

    def set_faults(self, **spec: Any) -> dict[str, Any]:
        with self.store.lock:
            self.store.faults.update(spec)
            return self.store.faults.to_json()

    def reset(self) -> None:
        self.webhooks.reset()
        self.store.reset()

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        return self.webhooks.wait_idle(timeout)

    def close(self) -> None:
        self.webhooks.close()


def create_app(config: PaidySandboxConfig | None = None) -> PaidySandbox:
    return PaidySandbox(config or PaidySandboxConfig())
