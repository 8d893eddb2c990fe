"""Builders shared by the Paidy adapter tests (no fixtures with side effects here)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from kessai.providers.base import Customer, Destination, LineItem, OrderData, ProviderSettings
from kessai.providers.paidy import PaidyProvider

PUBLIC_KEY = "pk_test_unit0000000000000001"
SECRET_KEY = "sk_test_unit0000000000000001"
PAY = "pay_AAAAAAAAAAAAAAAAAAAA"
CAP = "cap_BBBBBBBBBBBBBBBBBBBB"
TOKEN = "tok_CCCCCCCCCCCCCCCCCCCC"


def make_order(
    *,
    shop_transaction_no: str = "A-1001",
    email: str = "successful.payment@paidy.com",
    phone: str = "080-0000-0001",
    items: tuple[LineItem, ...] | None = None,
    destinations: tuple[Destination, ...] | None = None,
    description: str = "",
) -> OrderData:
    lines = items or (
        LineItem(sku="P-1", name="1人掛けソファ", unit_price=12800, quantity=1),
        LineItem(sku="ship", name="送料", unit_price=1024, quantity=1),
    )
    return OrderData(
        shop_transaction_no=shop_transaction_no,
        amount=sum(line.subtotal for line in lines),
        items=lines,
        customer=Customer(
            name="山田 太郎",
            name_kana="ヤマダ タロウ",
            email=email,
            phone=phone,
            zip_code="107-0052",
            address="東京都港区赤坂1-2-3",
        ),
        destinations=destinations if destinations is not None else (),
        description=description,
    )


def make_settings(
    *,
    base_url: str | None = "http://paidy.test/",
    environment: str = "test",
    options: Mapping[str, Any] | None = None,
    public_key: str = PUBLIC_KEY,
    secret_key: str = SECRET_KEY,
    extra: Mapping[str, str] | None = None,
) -> ProviderSettings:
    return ProviderSettings(
        credentials={"public_key": public_key, "secret_key": secret_key, **dict(extra or {})},
        environment=environment,  # type: ignore[arg-type]
        base_url=base_url,
        options=dict(options or {}),
        timeout=5.0,
    )


def payment(status: str = "AUTHORIZED", **overrides: Any) -> dict[str, Any]:
    """A payment object as the note shows it (§2.2)."""
    body: dict[str, Any] = {
        "id": PAY,
        "created_at": "2025-01-01T00:00:00.000Z",
        "expires_at": "2099-01-31T00:00:00.000Z",
        "amount": 13824,
        "currency": "JPY",
        "description": None,
        "store_name": "Kessai",
        "test": True,
        "status": status,
        "tier": "classic",
        "buyer": {"name1": "山田 太郎", "email": "successful.payment@paidy.com", "phone": "08000000001"},
        "order": {"items": [], "order_ref": "A-1001"},
        "shipping_address": {"zip": "107-0052", "state": "東京都"},
        "captures": [],
        "refunds": [],
        "metadata": {},
    }
    body.update(overrides)
    return body


def captured(refunds: tuple[int, ...] = ()) -> dict[str, Any]:
    return payment(
        "CLOSED",
        captures=[{"id": CAP, "amount": 13824, "created_at": "2025-01-02T00:00:00.000Z"}],
        refunds=[
            {"id": f"ref_{i:020d}", "amount": amount, "capture_id": CAP, "created_at": "2025-01-03T00:00:00.000Z"}
            for i, amount in enumerate(refunds)
        ],
    )


def error_body(code: str, status: int = 400, description: str = "") -> dict[str, Any]:
    return {"reference": "ref-1", "status": status, "code": code, "title": "Error", "description": description}


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

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]


def answer(
    status: int = 200, body: Any = None, *, text: str | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return respond


def sequence(*responders: Callable[[httpx.Request], httpx.Response]) -> Callable[[httpx.Request], httpx.Response]:
    remaining = list(responders)

    def respond(request: httpx.Request) -> httpx.Response:
        return remaining.pop(0)(request)

    return respond


def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc

    return respond


def provider_with(api: FakeApi, **settings: Any) -> PaidyProvider:
    return PaidyProvider(make_settings(**settings), transport=api.transport)
