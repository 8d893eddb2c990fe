"""Raw HTTP helpers for the NP後払い emulator's own tests (no adapter involved: the emulator is tested
against the protocol note)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from kessai.sandbox.np_atobarai import (
    DEFAULT_MERCHANT_CODE,
    DEFAULT_SP_CODE,
    DEFAULT_TERMINAL_ID,
    NpAtobaraiSandbox,
    NpSandboxConfig,
    create_app,
)
from kessai.sandbox.server import RunningServer, start_in_thread

# One TLS context for every test request (building one per request costs ~70 ms).
TLS = httpx.create_ssl_context()


def basic(merchant_code: str = DEFAULT_MERCHANT_CODE, sp_code: str = DEFAULT_SP_CODE) -> str:
    return "Basic " + base64.b64encode(f"{merchant_code}:{sp_code}".encode()).decode()


def headers(**overrides: str) -> dict[str, str]:
    base = {
        "Authorization": basic(),
        "X-NP-Terminal-Id": DEFAULT_TERMINAL_ID,
        "Content-Type": "application/json",
    }
    base.update(overrides)
    return base


def register_item(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "shop_transaction_id": "A-1001",
        "shop_order_date": "2025-01-09",
        "settlement_type": "02",
        "billed_amount": 13824,
        "customer": {
            "customer_name": "山田\u3000太郎",
            "customer_name_kana": "ヤマダ\u3000タロウ",
            "zip_code": "107-0052",
            "address": "東京都港区赤坂1-2-3",
            "tel": "09012345678",
            "email": "taro@example.jp",
        },
        "dest_customer": {
            "customer_name": "山田\u3000花子",
            "zip_code": "1070052",
            "address": "東京都港区赤坂1-2-3",
            "tel": "0312345678",
        },
        "goods": [
            {"goods_name": "1人掛けソファ", "goods_price": 12800, "quantity": 1},
            {"goods_name": "送料", "goods_price": 1024, "quantity": 1},
        ],
    }
    item.update(overrides)
    return item


def customer(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(register_item()["customer"])
    data.update(overrides)
    return data


@dataclass
class Np:
    app: NpAtobaraiSandbox
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url

    def post(
        self, path: str, items: list[dict[str, Any]] | None = None, *, method: str = "POST", **kw: Any
    ) -> httpx.Response:
        body = {"transactions": items} if items is not None else kw.pop("json", None)
        hdrs = kw.pop("headers", None) or headers()
        with httpx.Client(verify=TLS, timeout=10.0) as http:
            return http.request(method, f"{self.url}/v1/{path}", json=body, headers=hdrs, **kw)

    def register(self, **overrides: Any) -> dict[str, Any]:
        response = self.post("transactions", [register_item(**overrides)])
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["results"][0]
        return result

    def one(self, path: str, item: dict[str, Any], method: str = "POST") -> tuple[int, dict[str, Any]]:
        response = self.post(path, [item], method=method)
        body: dict[str, Any] = response.json()
        return response.status_code, body

    def codes(self, path: str, item: dict[str, Any], method: str = "POST") -> list[str]:
        status, body = self.one(path, item, method)
        assert status == 400, body
        codes: list[str] = body["errors"][0]["codes"]
        return codes

    def ship(self, np_id: str, **overrides: Any) -> tuple[int, dict[str, Any]]:
        item = {"np_transaction_id": np_id, "pd_company_code": "59010", "slip_no": "123456789012", **overrides}
        return self.one("shipments", item)

    def find(self, np_id: str) -> dict[str, Any]:
        status, body = self.one("authorizations/find", {"np_transaction_id": np_id})
        assert status == 200, body
        result: dict[str, Any] = body["results"][0]
        return result

    def control(self, method: str, path: str, body: Any = None) -> httpx.Response:
        with httpx.Client(verify=TLS, timeout=10.0) as http:
            return http.request(method, f"{self.url}/_sandbox{path}", json=body)


def running(config: NpSandboxConfig | None = None) -> Iterator[Np]:
    app = create_app(config)
    server = start_in_thread(app)
    try:
        yield Np(app=app, server=server)
    finally:
        server.stop()
        app.close()
