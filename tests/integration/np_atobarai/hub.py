"""The hub wired to a real NP後払い emulator over localhost HTTP: fixtures and builders for the service tests.

The emulator runs in-process (``start_in_thread``); the hub's test ProviderAccount points at its ``/v1/``
with the emulator's documented codes, exactly as an operator would point a test account at
``kessai sandbox np_atobarai``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kessai.payments import services
from kessai.payments.ledger import Balances, replay
from kessai.payments.models import Payment
from kessai.sandbox.np_atobarai import (
    DEFAULT_MERCHANT_CODE,
    DEFAULT_SP_CODE,
    DEFAULT_TERMINAL_ID,
    NpAtobaraiSandbox,
    NpSandboxConfig,
    create_app,
)
from kessai.sandbox.server import RunningServer, start_in_thread
from kessai.shops import services as shop_services
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop
from tests import factories

HOLD_ADDRESS = "東京都港区赤坂1-2-3 保留"
REVIEW_ADDRESS = "東京都港区赤坂1-2-3 審査"
FIXED_ADDRESS = "東京都港区赤坂1-2-3 赤坂ビル101"


@dataclass
class Emulator:
    app: NpAtobaraiSandbox
    server: RunningServer

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1/"

    def tx(self, np_id: str) -> dict[str, Any]:
        return self.app.transaction(np_id)


def running_emulator(config: NpSandboxConfig | None = None) -> Iterator[Emulator]:
    app = create_app(config)
    server = start_in_thread(app)
    try:
        yield Emulator(app=app, server=server)
    finally:
        server.stop()
        app.close()


@dataclass
class NpShop:
    shop: Shop
    account: ProviderAccount
    method: PaymentMethod
    emulator: Emulator

    def pay(self, address: str = "東京都港区赤坂1-2-3", **order: Any) -> Payment:
        """An order and its NP後払い payment, screened at once (server-side)."""
        customer = {**factories.order_body()["customer"], "address": address}
        started = services.start_payment(
            factories.order(self.shop, customer=customer, **order), method_ref=self.method.id, actor="test"
        )
        assert not started.requires_action
        return started.payment


def np_shop(emulator: Emulator, *, options: dict[str, Any] | None = None) -> NpShop:
    shop = factories.shop("NP後払い テストショップ")
    account = shop_services.create_provider_account(
        shop,
        provider="np_atobarai",
        environment="test",
        credentials={
            "merchant_code": DEFAULT_MERCHANT_CODE,
            "sp_code": DEFAULT_SP_CODE,
            "terminal_id": DEFAULT_TERMINAL_ID,
        },
        options=options or {},
        base_url=emulator.base_url,
    )
    method = shop_services.create_payment_method(shop, provider_account=account, code="np_atobarai", name="NP後払い")
    return NpShop(shop=shop, account=account, method=method, emulator=emulator)


def ops(payment: Payment) -> list[tuple[str, str]]:
    return list(payment.operations.order_by("created_at", "id").values_list("kind", "result"))


def assert_ledger_agrees(payment: Payment) -> None:
    payment.refresh_from_db()
    assert replay(payment.operations.order_by("created_at", "id")) == Balances(
        payment.amount, payment.captured_amount, payment.refunded_amount
    )
