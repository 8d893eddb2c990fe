"""Builders shared by the GMO後払い adapter tests (no fixtures with side effects here)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from kessai.providers.base import Customer, Destination, LineItem, OrderData, ProviderSettings
from kessai.providers.gmo_atobarai import GmoAtobaraiProvider

AUTHENTICATION_ID = "1234567890"
SHOP_CODE = "abtestshop"
PASSWORD = "unit-test-password"
GMO_ID = "123456789012"


def make_order(
    *,
    shop_transaction_no: str = "A-1001",
    address: str = "東京都港区赤坂1-2-3",
    items: tuple[LineItem, ...] | None = None,
    destinations: tuple[Destination, ...] | None = None,
    ordered_at: str = "2025-01-31",
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
            name_kana="ﾔﾏﾀﾞ ﾀﾛｳ",
            email="taro@example.jp",
            phone="０９０－１２３４－５６７８",
            zip_code="1070052",
            address=address,
        ),
        destinations=(
            destinations
            if destinations is not None
            else (
                Destination(name="山田 花子", zip_code="107-0052", address="東京都港区赤坂1-2-3", phone="03-1234-5678"),
            )
        ),
        ordered_at=ordered_at,
    )


def make_settings(
    *,
    base_url: str | None = "http://gmo.test/auto/",
    environment: str = "test",
    options: Mapping[str, Any] | None = None,
    password: str = PASSWORD,
) -> ProviderSettings:
    return ProviderSettings(
        credentials={"authentication_id": AUTHENTICATION_ID, "shop_code": SHOP_CODE, "connect_password": password},
        environment=environment,  # type: ignore[arg-type]
        base_url=base_url,
        options=dict(options or {}),
        timeout=5.0,
    )


def xml(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><response>{body}</response>'


def ok(author: str = "OK", gmo_id: str = GMO_ID) -> str:
    return xml(
        f"<result>OK</result><transactionResult><gmoTransactionId>{gmo_id}</gmoTransactionId>"
        f"<authorResult>{author}</authorResult></transactionResult>"
    )


def info(gmo_id: str = GMO_ID) -> str:
    return xml(f"<result>OK</result><transactionInfo><gmoTransactionId>{gmo_id}</gmoTransactionId></transactionInfo>")


def ng(*errors: tuple[str, str]) -> str:
    inner = "".join(f"<error><errorCode>{c}</errorCode><errorMessage>{m}</errorMessage></error>" for c, m in errors)
    return xml(f"<result>NG</result><errors>{inner}</errors>")


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

    def root(self, index: int = -1) -> ET.Element:
        return ET.fromstring(self.requests[index].content)  # noqa: S314 - our own request

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def answer(text: str, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=text.encode("utf-8"), headers={"Content-Type": "application/xml"})

    return respond


def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc

    return respond


def provider_with(api: FakeApi, **settings: Any) -> GmoAtobaraiProvider:
    return GmoAtobaraiProvider(make_settings(**settings), transport=api.transport)


def texts(element: ET.Element | None) -> dict[str, str]:
    """Leaf children of ``element`` as {tag: text}."""
    assert element is not None
    return {child.tag: child.text or "" for child in element if len(child) == 0}
