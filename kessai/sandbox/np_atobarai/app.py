"""The NP後払い emulator as one WSGI application: ``create_app(config) -> NpAtobaraiSandbox``.

Paths: ``/v1/…`` (REST API, :mod:`.api`), ``/_sandbox/…`` (control, :mod:`.control`), ``/`` (a JSON index).

The object is a WSGI callable and also exposes its state for in-process tests (``store``, ``ledger()``,
``transaction()``, ``settle_review()``, ``mark_paid()``, ``set_faults()``, ``set_settings()``, ``reset()``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from kessai.sandbox.np_atobarai.api import NpApi
from kessai.sandbox.np_atobarai.config import MerchantConfig, NpSandboxConfig
from kessai.sandbox.np_atobarai.control import Control, outcome_from
from kessai.sandbox.np_atobarai.http import Request, Response, json_response
from kessai.sandbox.np_atobarai.operations import Operations
from kessai.sandbox.np_atobarai.state import Store
from kessai.sandbox.server import DropConnection

logger = logging.getLogger("kessai.sandbox.np_atobarai")


class NpAtobaraiSandbox:
    def __init__(self, config: NpSandboxConfig) -> None:
        self.config = config
        self.store = Store(config)
        self.operations = Operations(self.store)
        self.api = NpApi(self.store, self.operations)
        self.control = Control(self.store, self.operations)

    # -- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        try:
            response = self.route(request)
        except DropConnection:
            raise
        except Exception:
            logger.exception("NP後払い sandbox failed on %s %s", request.method, request.path)
            response = json_response(500, {"message": "internal error in the sandbox"})
        return response(start_response)

    def route(self, request: Request) -> Response:
        if self.control.handles(request.path):
            return self.control.handle(request)
        if self.api.handles(request.path):
            return self.api.handle(request)
        if request.path == "/":
            return json_response(
                200,
                {
                    "service": "NP後払い sandbox (Kessai)",
                    "api_base_url": request.host_url + "/v1/",
                    "control_url": request.host_url + "/_sandbox",
                },
            )
        return json_response(404, {"message": f"no endpoint {request.path}"})

    # -- in-process helpers ----------------------------------------------------------------------

    @property
    def default_merchant(self) -> MerchantConfig:
        with self.store.lock:
            return next(iter(self.store.merchants.values()))

    def ledger(self) -> dict[str, Any]:
        return self.store.ledger()

    def transaction(self, np_transaction_id: str) -> dict[str, Any]:
        with self.store.lock:
            return self.store.transactions[np_transaction_id].to_json()

    def settle_review(self, np_transaction_id: str, **outcome: Any) -> dict[str, Any]:
        """Finish NP's manual review, e.g. ``settle_review(id, authori_result="00")``."""
        result = outcome_from(dict(outcome))
        with self.store.lock:
            tx = self.store.transactions[np_transaction_id]
            self.operations.settle_review(tx, result)
            return tx.to_json()

    def mark_paid(self, np_transaction_id: str) -> None:
        with self.store.lock:
            self.operations.mark_paid(self.store.transactions[np_transaction_id])

    def set_faults(self, **spec: Any) -> dict[str, Any]:
        with self.store.lock:
            self.store.faults.update(spec)
            return self.store.faults.to_json()

    def set_settings(self, **values: Any) -> None:
        with self.store.lock:
            for key, value in values.items():
                if key == "clock_offset_seconds":
                    self.store.clock.offset_seconds = float(value)
                elif hasattr(self.store.settings, key):
                    setattr(self.store.settings, key, value)
                else:
                    raise ValueError(f"unknown setting {key!r}")

    def reset(self) -> None:
        self.store.reset()

    def close(self) -> None:
        """Nothing runs in the background; present so every emulator can be closed the same way."""


def create_app(config: NpSandboxConfig | None = None) -> NpAtobaraiSandbox:
    return NpAtobaraiSandbox(config or NpSandboxConfig())
