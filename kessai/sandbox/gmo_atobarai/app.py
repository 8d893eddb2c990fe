"""The GMO後払い emulator as one WSGI application: ``create_app(config) -> GmoSandbox``.

Paths: ``/auto/*.do`` (the XML API, :mod:`.api`), ``/_sandbox/…`` (control, :mod:`.control`), ``/`` (a
JSON index). The object is a WSGI callable and also exposes its state for in-process tests (``store``,
``ledger()``, ``resolve()``, ``set_faults()``, ``reset()``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from kessai.sandbox.atone.wsgi import Request, Response, json_response
from kessai.sandbox.gmo_atobarai import codes
from kessai.sandbox.gmo_atobarai.api import PREFIX as API_PREFIX
from kessai.sandbox.gmo_atobarai.api import GmoApi, xml_response
from kessai.sandbox.gmo_atobarai.config import GmoSandboxConfig, ShopConfig
from kessai.sandbox.gmo_atobarai.control import PREFIX as CONTROL_PREFIX
from kessai.sandbox.gmo_atobarai.control import Control
from kessai.sandbox.gmo_atobarai.operations import GmoOperations
from kessai.sandbox.gmo_atobarai.screening import AuthorResult
from kessai.sandbox.gmo_atobarai.state import Store
from kessai.sandbox.server import DropConnection

logger = logging.getLogger("kessai.sandbox.gmo_atobarai")


class GmoSandbox:
    def __init__(self, config: GmoSandboxConfig) -> None:
        self.config = config
        self.store = Store(config)
        self.operations = GmoOperations(self.store)
        self.api = GmoApi(self.store, self.operations)
        self.control = Control(self.store, self.operations)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        try:
            response = self.route(request)
        except DropConnection:
            raise
        except Exception:
            logger.exception("gmo_atobarai sandbox failed on %s %s", request.method, request.path)
            response = xml_response(codes.ng(codes.SYSTEM).to_xml())
        return response(start_response)

    def route(self, request: Request) -> Response:
        path = request.path
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self.control.handle(request)
        if path.startswith(API_PREFIX):
            return self.api.handle(request)
        if path == "/":
            return json_response(
                200,
                {
                    "service": "GMO後払い sandbox (Kessai)",
                    "api_base_url": request.host_url + API_PREFIX,
                    "control_url": request.host_url + CONTROL_PREFIX,
                },
            )
        return json_response(404, {"error": f"no such path {path}"})

    # -- in-process helpers ----------------------------------------------------------------------

    @property
    def default_shop(self) -> ShopConfig:
        with self.store.lock:
            return next(iter(self.store.shops.values()))

    def ledger(self) -> dict[str, Any]:
        return self.store.ledger()

    def resolve(self, transaction_id: str, result: str) -> dict[str, Any]:
        return self.operations.resolve(transaction_id, AuthorResult(result))

    def set_faults(self, **spec: Any) -> dict[str, Any]:
        with self.store.lock:
            self.store.faults.update(spec)
            return self.store.faults.to_json()

    def reset(self) -> None:
        self.store.reset()

    def close(self) -> None:
        """Nothing runs in the background; present so every emulator closes the same way."""


def create_app(config: GmoSandboxConfig | None = None) -> GmoSandbox:
    return GmoSandbox(config or GmoSandboxConfig())
