"""The atone emulator as one WSGI application: ``create_app(config) -> AtoneSandbox``.

Paths: ``/v1/transactions…`` (REST API, :mod:`.routes`), ``/v1/atone.js`` and ``/v1/modal…`` (widget,
:mod:`.widget`), ``/_sandbox/…`` (control, :mod:`.control`), ``/`` (a JSON index).

The object is a WSGI callable and also exposes its state for in-process tests (``store``, ``ledger()``,
``deliveries()``, ``authenticate()``, ``set_faults()``, ``reset()``, ``wait_for_webhooks()``). Call
``close()`` when done: it stops the webhook thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from kessai.sandbox.atone import errors
from kessai.sandbox.atone.config import AtoneSandboxConfig, MerchantConfig
from kessai.sandbox.atone.control import PREFIX as CONTROL_PREFIX
from kessai.sandbox.atone.control import Control
from kessai.sandbox.atone.errors import Code
from kessai.sandbox.atone.operations import AtoneOperations
from kessai.sandbox.atone.routes import API_PREFIX, AtoneApi
from kessai.sandbox.atone.state import Buyer, Store
from kessai.sandbox.atone.webhooks import WebhookSender
from kessai.sandbox.atone.widget import Widget
from kessai.sandbox.atone.wsgi import Request, Response, json_response
from kessai.sandbox.server import DropConnection

logger = logging.getLogger("kessai.sandbox.atone")


class AtoneSandbox:
    def __init__(self, config: AtoneSandboxConfig) -> None:
        self.config = config
        self.store = Store(config)
        self.webhooks = WebhookSender(self.store)
        self.operations = AtoneOperations(self.store, self.webhooks)
        self.api = AtoneApi(self.store, self.operations)
        self.widget = Widget(self.store, self.operations)
        self.control = Control(self.store, self.operations, self.webhooks)

    # -- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        try:
            response = self.route(request)
        except DropConnection:
            raise
        except Exception:
            logger.exception("atone sandbox failed on %s %s", request.method, request.path)
            error = errors.fail(Code.BAD_REQUEST, None, errors.SERVER_ERROR, name=errors.NAME_SERVER_ERROR)
            response = json_response(error.status, error.to_json())
        return response(start_response)

    def route(self, request: Request) -> Response:
        path = request.path
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self.control.handle(request)
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            return self.api.handle(request)
        if path.startswith("/v1/"):
            return self.widget.handle(request)
        if path == "/":
            return json_response(
                200,
                {
                    "service": "atone sandbox (Kessai)",
                    "api_base_url": request.host_url + "/v1/",
                    "widget_url": request.host_url + "/v1/atone.js",
                    "control_url": request.host_url + CONTROL_PREFIX,
                },
            )
        error = errors.fail(Code.BAD_REQUEST, None, errors.NOT_FOUND_PATH, name=errors.NAME_NOT_FOUND)
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

    def authenticate(self, phone_number: str, public_key: str | None = None) -> Buyer:
        """A buyer token without a browser (fires the 認証Webhook like a real login)."""
        with self.store.lock:
            merchant = self.store.merchants[public_key] if public_key else self.default_merchant
        return self.operations.authenticate(merchant, phone_number)

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


def create_app(config: AtoneSandboxConfig | None = None) -> AtoneSandbox:
    return AtoneSandbox(config or AtoneSandboxConfig())
