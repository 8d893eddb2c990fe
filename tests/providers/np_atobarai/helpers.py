"""Builders shared by the NP後払い adapter tests (no fixtures with side effects here)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from kessai.providers.base import Customer, Destination, LineItem, OrderData, ProviderSettings
from kessai.providers.np_atobarai.adapter import NpAtobaraiProvider

MERCHANT_CODE = "akt1234567"
SP_CODE = "sp-test-secret-0001"
TERMINAL_ID = "9999000001"
TODAY = date(2025, 1, 10)
NP_ID = "25011000001"


def make_order(
    *,
    shop_transaction_no: str = "A-1001",
    address: str = "東京都港区赤坂1-2-3",
    dest_address: str = "東京都港区赤坂1-2-3",
    phone: str = "090-1234-5678",
    email: str = "taro@example.jp",
    items: tuple[LineItem, ...] | None = None,
    destinations: tuple[Destination, ...] | None = None,
    amount: int | None = None,
    ordered_at: str = "2025-01-09",
) -> OrderData:
    lines = items or (
        LineItem(sku="P-1", name="1人掛けソファ", unit_price=12800, quantity=1),
        LineItem(sku="ship", name="送料", unit_price=1024, quantity=1),
    )
    return OrderData(
        shop_transaction_no=shop_transaction_no,
        amount=sum(line.subtotal for line in lines) if amount is None else amount,
        items=lines,
        customer=Customer(
            name="山田 太郎",
            name_kana="ヤマダ タロウ",
            email=email,
            phone=phone,
            zip_code="107-0052",
            address=address,
        ),
        destinations=(
            destinations
            if destinations is not None
            else (Destination(name="山田 花子", zip_code="107-0052", address=dest_address, phone="03-1234-5678"),)
        ),
        ordered_at=ordered_at,
    )


def make_settings(
    *,
    base_url: str | None = "http://np.test/v1/",
    environment: str = "test",
    options: Mapping[str, Any] | None = None,
    merchant_code: str = MERCHANT_CODE,
    sp_code: str = SP_CODE,
    terminal_id: str = TERMINAL_ID,
    timeout: float = 5.0,
) -> ProviderSettings:
    return ProviderSettings(
        credentials={"merchant_code": merchant_code, "sp_code": sp_code, "terminal_id": terminal_id},
        environment=environment,  # type: ignore[arg-type]
        base_url=base_url,
        options=dict(options or {}),
        timeout=timeout,
    )


@dataclass
class FakeApi:
    """A MockTransport handler: records requests, answers with ``responder(request)``."""

    responder: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responder(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def body(self, index: int = -1) -> Any:
        content = self.requests[index].content
        return json.loads(content) if content else None

    def item(self, index: int = -1) -> dict[str, Any]:
        items: list[dict[str, Any]] = self.body(index)["transactions"]
        assert len(items) == 1
        return items[0]

    @property
    def paths(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]


Responder = Callable[[httpx.Request], httpx.Response]


def answer(status: int = 200, body: Any = None, *, text: str | None = None) -> Responder:
    def respond(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return respond


def sequence(*responders: Responder) -> Responder:
    remaining = list(responders)

    def respond(request: httpx.Request) -> httpx.Response:
        return remaining.pop(0)(request)

    return respond


def results(*items: dict[str, Any]) -> dict[str, Any]:
    return {"results": list(items)}


def screening(result: str = "00", np_id: str = NP_ID, **extra: Any) -> dict[str, Any]:
    return {
        "shop_transaction_id": "A-1001",
        "np_transaction_id": np_id,
        "authori_result": result,
        "authori_required_date": "2025-01-10T10:00:00+09:00",
        **extra,
    }


def errors(*codes: str, target: str = NP_ID) -> dict[str, Any]:
    return {"errors": [{"codes": list(codes), "id": target}]}


def provider_with(api: FakeApi, **settings: Any) -> NpAtobaraiProvider:
    return NpAtobaraiProvider(make_settings(**settings), transport=api.transport, today=lambda: TODAY)
