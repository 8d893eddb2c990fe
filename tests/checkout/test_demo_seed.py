"""The demo seed: orders waiting at the hosted checkout, and the emulator's webhooks pointed at the hub."""

from __future__ import annotations

import pytest

from kessai.checkout.links import checkout_url
from kessai.demo_seed import DEMO_CHECKOUTS, seed_demo_shop
from kessai.payments import services
from kessai.payments.models import Payment
from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY

pytestmark = pytest.mark.django_db


def test_the_demo_has_one_waiting_payment_per_scenario_with_its_link(atone_emulator):
    seed = seed_demo_shop(password="demo-pass-123", atone_base_url=atone_emulator.base_url)

    numbers = [payment.order.shop_order_no for _, payment in seed.checkouts]
    assert numbers == ["DEMO-OK-0001", "DEMO-NG-0001", "DEMO-LIMIT-0001"]
    assert all(payment.state == "created" and payment.checkout_token for _, payment in seed.checkouts)
    links = seed.checkout_links(public_url="http://127.0.0.1:8123")
    assert links[0] == f"pay: {checkout_url(seed.checkouts[0][1], public_url='http://127.0.0.1:8123')}  " + (
        "(与信OK → 仮売上, DEMO-OK-0001)"
    )
    assert [p.order.amount for _, p in seed.checkouts] == [13824, 20480, 64800]
    assert "NPテスト" in seed.checkouts[1][1].order.customer_name
    assert len(DEMO_CHECKOUTS) == 3


def test_reseeding_keeps_waiting_payments_and_replaces_paid_ones(atone_emulator):
    first = seed_demo_shop(password="demo-pass-123", atone_base_url=atone_emulator.base_url)
    ok_payment = first.checkouts[0][1]
    widget = services.checkout_widget(ok_payment)
    ref = atone_emulator.pay_in_widget(widget)["response"]["id"]
    services.confirm_checkout(ok_payment, provider_ref=ref, actor="checkout")

    second = seed_demo_shop(password="demo-pass-123", atone_base_url=atone_emulator.base_url)

    assert second.checkouts[0][1].order.shop_order_no == "DEMO-OK-0002"
    assert second.checkouts[1][1].pk == first.checkouts[1][1].pk
    assert Payment.objects.filter(shop=second.shop).count() == 4


def test_after_start_points_the_emulators_webhooks_at_the_hub(atone_emulator):
    seed = seed_demo_shop(password="demo-pass-123", atone_base_url=atone_emulator.base_url)

    seed.after_start(public_url="http://127.0.0.1:8123")

    merchant = atone_emulator.app.store.merchants[DEFAULT_PUBLIC_KEY]
    account = seed.atone_account
    assert merchant.payment_webhook_url == (
        f"http://127.0.0.1:8123/hooks/atone/{account.id}/payment?token={account.webhook_token}"
    )
    assert merchant.authentication_webhook_url == (
        f"http://127.0.0.1:8123/hooks/atone/{account.id}/authentication?token={account.webhook_token}"
    )
