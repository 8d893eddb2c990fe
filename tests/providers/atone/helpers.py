"""Builders shared by the atone adapter tests (no fixtures with side effects here)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from kessai.providers.atone.adapter import AtoneProvider
from kessai.providers.base import Customer, Destination, LineItem, OrderData, ProviderSettings

PUBLIC_KEY = "pkTestPublicKey0000001"
SECRET_KEY = "skTestSecretKey0000001"
TOKEN = "tk_AAAAAAAAAAAAAAAAAAAAAAAA"


def make_order(
    *,
    shop_transaction_no: str = "A-1001",
    name: str = "山田 太郎",
    phone: str = "090-1234-5678",
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
            name=name,
            name_kana="ヤマダ タロウ",
            email="taro@example.jp",
            phone=phone,
            zip_code="107-0052",
            address="東京都港区赤坂1-2-3",
        ),
        destinations=(
            destinations
            if destinations is not None
            else (
                Destination(name="山田 花子", zip_code="107-0052", address="東京都港区赤坂1-2-3", phone="03-1234-5678"),
            )
        ),
        description=description,
    )


def make_settings(
    *,
    base_url: str | None = "http://atone.test/v1/",
    environment: str = "test",
    terminal_id: str = "",
    options: Mapping[str, Any] | None = None,
    secret_key: str = SECRET_KEY,
    timeout: float = 5.0,
) -> ProviderSettings:
    credentials = {"public_key": PUBLIC_KEY, "secret_key": secret_key}
    if terminal_id:
        credentials["terminal_id"] = terminal_id
    return ProviderSettings(
        credentials=credentials,
        environment=environment,  # type: ignore[arg-type]
        base_url=base_url,
        options=dict(options or {}),
        timeout=timeout,
    )


def transaction(**overrides: Any) -> dict[str, Any]:
    """A transaction object as §4.5 shows it (authorized, unsettled)."""
    tx: dict[str, Any] = {
        "id": "tr_AAAAAAAAAAAAAAAA",
        "object": "transaction",
        "livemode": False,
        "authentication_token": TOKEN,
        "shop_transaction_no": "A-1001",
        "amount": 13824,
        "authorization_result": 1,
        "authorization_result_ng_reason": None,
        "amount_refund_total": 0,
        "registration_datetime": "2025-01-01T10:00:00+09:00",
        "sales_settled_datetime": None,
        "transaction_options": [],
        "related_transaction": None,
        "updated_transactions": None,
        "customer": {"object": "customer", "customer_name": "山田　太郎", "user_no": "1000000001"},
        "items": [],
        "refunds": [],
    }
    tx.update(overrides)
    return tx


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


def answer(
    status: int = 200, body: Any = None, *, text: str | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return respond


def sequence(
    *responders: Callable[[httpx.Request], httpx.Response],
) -> Callable[[httpx.Request], httpx.Response]:
    remaining = list(responders)

    def respond(request: httpx.Request) -> httpx.Response:
        return remaining.pop(0)(request)

    return respond


def provider_with(api: FakeApi, **settings: Any) -> AtoneProvider:
    return AtoneProvider(make_settings(**settings), transport=api.transport)


def error_body(code: str, param: str = "", status_name: str = "InvalidRequest", message: str = "") -> dict[str, Any]:
    return {
        "name": status_name,
        "message": message or "error",
        "errors": [{"code": code, "messages": [message or "error"], "params": [param] if param else []}],
    }
