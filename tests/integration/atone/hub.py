"""The hub wired to a real atone emulator over localhost HTTP: fixtures and builders shared by the
integration, inbound-webhook, checkout and browser tests.

The emulator runs in-process (``start_in_thread``); the hub's test ProviderAccount points at its
``/v1/`` with the emulator's documented keys, exactly as an operator would point a test account at
``kessai sandbox atone``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from kessai.payments import services
from kessai.payments.models import Payment
from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY, AtoneSandbox, AtoneSandboxConfig, create_app
from kessai.sandbox.server import RunningServer, start_in_thread
from kessai.shops import services as shop_services
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop
from tests import factories

MOBILE = "090-1234-5678"
ATONE_METHOD_NAME = "atone 翌月払い(コンビニ/口座振替)"
ATONE_DESCRIPTION = (
    "<p>atone (アトネ) は誰でもすぐに使える翌月払いです。<script>alert(1)</script>"
    '<a href="https://atone.be/" onclick="x()">詳細</a></p>'
)


@dataclass
class Emulator:
    app: AtoneSandbox
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1/"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox{path}", json=body, timeout=10.0)
        assert response.status_code == 200, response.text
        return response.json()

    def faults(self, **spec: Any) -> None:
        self.control("POST", "/faults", spec)

    def entry(self, transaction_id: str) -> dict[str, Any]:
        entries = self.app.ledger()["transactions"]
        return next(e for e in entries if e["transaction"]["id"] == transaction_id)

    def movements(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.app.ledger()["movements"] if m["kind"] == kind]

    def token(self, phone: str = MOBILE) -> str:
        return self.app.authenticate(phone).authentication_token

    def set_webhooks(self, payment_url: str | None, authentication_url: str | None) -> None:
        self.control(
            "POST",
            "/merchants",
            {
                "public_key": DEFAULT_PUBLIC_KEY,
                "payment_webhook_url": payment_url,
                "authentication_webhook_url": authentication_url,
            },
        )

    def pay_in_widget(self, widget: dict[str, Any], phone: str = MOBILE) -> dict[str, Any]:
        """What the modal does when the buyer confirms: the emulator registers the transaction
        (and sends its webhooks) — the hub is not told anything."""
        response = httpx.post(
            f"{self.base_url}modal/api/confirm",
            json={
                "pub_key": widget["pub_key"],
                "pre_token": widget.get("pre_token", ""),
                "phone_number": phone,
                "payment": widget["payment"],
            },
            timeout=10.0,
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def running_emulator() -> Iterator[Emulator]:
    """An emulator on a free localhost port for one test (use with ``yield from`` in a fixture)."""
    app = create_app(AtoneSandboxConfig(webhook_retry_delays=(0.05, 0.1)))
    server = start_in_thread(app)
    try:
        yield Emulator(app=app, server=server)
    finally:
        server.stop()
        app.close()


def atone_account(
    shop: Shop, emulator: Emulator, *, capture: str = "manual", secret_key: str = DEFAULT_SECRET_KEY
) -> ProviderAccount:
    return shop_services.create_provider_account(
        shop,
        provider="atone",
        environment="test",
        credentials={"public_key": DEFAULT_PUBLIC_KEY, "secret_key": secret_key},
        options={"capture": capture},
        base_url=emulator.base_url,
    )


def atone_method(shop: Shop, account: ProviderAccount, **overrides: Any) -> PaymentMethod:
    values: dict[str, Any] = {
        "code": "atone",
        "name": ATONE_METHOD_NAME,
        "description": ATONE_DESCRIPTION,
        "banner_url": "https://atone.be/images/banner.png",
        "banner_link": "https://atone.be/",
    }
    values.update(overrides)
    return shop_services.create_payment_method(shop, provider_account=account, **values)


@dataclass
class AtoneShop:
    shop: Shop
    account: ProviderAccount
    method: PaymentMethod
    emulator: Emulator

    def start(self, **order_overrides: Any) -> Payment:
        """An order and its atone payment waiting for the buyer (``created``)."""
        order = factories.order(self.shop, **order_overrides)
        started = services.start_payment(order, method_ref=self.method.id, actor="test")
        assert started.requires_action
        return started.payment

    def pay(self, payment: Payment, phone: str = MOBILE) -> dict[str, Any]:
        """The buyer confirms in the widget (the hub learns nothing yet)."""
        return self.emulator.pay_in_widget(services.checkout_widget(payment), phone)

    def authorized(self, **order_overrides: Any) -> Payment:
        """A payment confirmed the normal way: widget, then the browser's report."""
        payment = self.start(**order_overrides)
        ref = self.pay(payment)["response"]["id"]
        return services.confirm_checkout(payment, provider_ref=ref, actor="checkout")


def atone_shop(emulator: Emulator, *, capture: str = "manual") -> AtoneShop:
    shop = factories.shop("atone テストショップ")
    account = atone_account(shop, emulator, capture=capture)
    return AtoneShop(shop=shop, account=account, method=atone_method(shop, account), emulator=emulator)


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def customer(name: str = "山田 太郎", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "name_kana": "ヤマダ タロウ",
        "email": "taro@example.jp",
        "phone": MOBILE,
        "zip_code": "107-0052",
        "address": "東京都港区赤坂1-2-3",
    }
    data.update(overrides)
    return data


def one_line_order(amount: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": amount,
        "items": [{"sku": "P-9", "name": "ソファ", "unit_price": amount, "quantity": 1}],
        "destinations": [],
    }
    body.update(overrides)
    return body
