"""The GMO後払い emulator on a real localhost port, for the adapter's HTTP tests."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from kessai.providers.base import ProviderSettings
from kessai.providers.gmo_atobarai import GmoAtobaraiProvider
from kessai.sandbox.gmo_atobarai import (
    DEFAULT_AUTHENTICATION_ID,
    DEFAULT_CONNECT_PASSWORD,
    DEFAULT_SHOP_CODE,
    GmoSandbox,
    create_app,
)
from kessai.sandbox.server import RunningServer, start_in_thread

# httpx builds an SSL context per request unless given one; the emulator is plain HTTP, so share one.
SHARED_SSL_CONTEXT = ssl.create_default_context()


@dataclass
class Emulator:
    app: GmoSandbox
    server: RunningServer

    @property
    def base_url(self) -> str:
        return self.server.url + "/auto/"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method, f"{self.server.url}/_sandbox{path}", json=body, timeout=10.0, verify=SHARED_SSL_CONTEXT
        )
        assert response.status_code == 200, response.text
        return response.json()

    def reset(self) -> None:
        self.control("POST", "/reset")

    def faults(self, **spec: Any) -> None:
        self.control("POST", "/faults", spec)

    def transactions(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "/ledger")["transactions"])

    def entry(self, gmo_id: str) -> dict[str, Any]:
        return next(e for e in self.transactions() if e["transaction"]["gmoTransactionId"] == gmo_id)

    def provider(
        self,
        *,
        password: str = DEFAULT_CONNECT_PASSWORD,
        timeout: float = 5.0,
        options: dict[str, Any] | None = None,
        base_url: str | None = None,
    ) -> GmoAtobaraiProvider:
        settings = ProviderSettings(
            credentials={
                "authentication_id": DEFAULT_AUTHENTICATION_ID,
                "shop_code": DEFAULT_SHOP_CODE,
                "connect_password": password,
            },
            environment="test",
            base_url=base_url or self.base_url,
            options=options or {},
            timeout=timeout,
        )
        return GmoAtobaraiProvider(settings)


def running_emulator() -> Iterator[Emulator]:
    app = create_app()
    server = start_in_thread(app)
    try:
        yield Emulator(app=app, server=server)
    finally:
        server.stop()
        app.close()
