"""The NP後払い emulator on a real localhost port, for the adapter's HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from kessai.providers.base import ProviderSettings
from kessai.providers.np_atobarai import NpAtobaraiProvider
from kessai.sandbox.np_atobarai import (
    DEFAULT_MERCHANT_CODE,
    DEFAULT_SP_CODE,
    DEFAULT_TERMINAL_ID,
    NpAtobaraiSandbox,
    NpSandboxConfig,
    create_app,
)
from kessai.sandbox.server import RunningServer, start_in_thread

TLS = httpx.create_ssl_context()


@dataclass
class Emulator:
    app: NpAtobaraiSandbox
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1/"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        with httpx.Client(verify=TLS, timeout=10.0) as http:
            response = http.request(method, f"{self.url}/_sandbox{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def faults(self, **spec: Any) -> None:
        self.control("POST", "/faults", spec)

    def tx(self, np_id: str) -> dict[str, Any]:
        return self.app.transaction(np_id)

    def movements(self, np_id: str) -> dict[str, int]:
        entry = next(e for e in self.app.ledger()["transactions"] if e["transaction"]["np_transaction_id"] == np_id)
        counts: dict[str, int] = entry["movements"]
        return counts

    def provider(
        self,
        *,
        sp_code: str = DEFAULT_SP_CODE,
        terminal_id: str = DEFAULT_TERMINAL_ID,
        options: dict[str, Any] | None = None,
        timeout: float = 5.0,
    ) -> NpAtobaraiProvider:
        settings = ProviderSettings(
            credentials={"merchant_code": DEFAULT_MERCHANT_CODE, "sp_code": sp_code, "terminal_id": terminal_id},
            environment="test",
            base_url=self.base_url,
            options=options or {},
            timeout=timeout,
        )
        return NpAtobaraiProvider(settings)


def running_emulator(config: NpSandboxConfig | None = None) -> Iterator[Emulator]:
    app = create_app(config)
    server = start_in_thread(app)
    try:
        yield Emulator(app=app, server=server)
    finally:
        server.stop()
        app.close()
