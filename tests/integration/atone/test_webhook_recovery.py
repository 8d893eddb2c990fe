"""Webhook-only recovery over real HTTP both ways: the buyer's browser "dies" after atone said OK, the
emulator's own 決済Webhook / 認証Webhook reach the running hub, the worker applies them.

The hub runs under pytest-django's ``live_server``; the emulator posts to the URLs staff would paste
into atone's merchant console (``shops.services.webhook_urls``); the worker is the real django-tasks
database worker run in batch mode."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from django.core.management import call_command

from kessai.payments import services
from kessai.payments.models import BuyerToken, Operation, Order, Payment
from kessai.payments.tokens import digest
from kessai.providers.atone.checksum import widget_checksum
from kessai.sandbox.atone import DEFAULT_SECRET_KEY
from kessai.shops.services import webhook_urls
from kessai.webhooks.models import InboundWebhook
from tests.integration.atone import hub

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def atone(atone_emulator: hub.Emulator, live_server: Any) -> hub.AtoneShop:
    shop = hub.atone_shop(atone_emulator)
    urls = webhook_urls(shop.account, public_url=live_server.url)
    atone_emulator.set_webhooks(urls["payment"], urls["authentication"])
    return shop


def run_worker() -> None:
    """What ``kessai worker`` does with the tasks the webhook view enqueued."""
    call_command("db_worker", queue_name="webhooks", batch=True, reload=False, startup_delay=False, verbosity=0)


def delivered(atone: hub.AtoneShop) -> list[dict[str, Any]]:
    assert atone.emulator.app.wait_for_webhooks(10.0)
    deliveries = atone.emulator.app.deliveries()
    assert all(d["status"] == "delivered" for d in deliveries), deliveries
    return deliveries


def cart_widget(atone: hub.AtoneShop, number: str) -> dict[str, Any]:
    """A widget config for an order the hub has no payment for (a cart running the widget itself)."""
    widget = services.checkout_widget(atone.start())
    payment = {k: v for k, v in widget["payment"].items() if k != "checksum"}
    payment["shop_transaction_no"] = number
    payment["customer"] = {**payment["customer"], "customer_name": "佐藤　花子", "email": "hanako@example.jp"}
    payment["checksum"] = widget_checksum(payment, DEFAULT_SECRET_KEY)
    return {**widget, "payment": payment}


def test_the_webhook_alone_produces_the_payment_flagged_for_review(atone):
    paid = atone.emulator.pay_in_widget(cart_widget(atone, "CART-1001"))  # ... and the browser dies here
    ref = paid["response"]["id"]
    assert paid["response"]["authorization_result"] == 1

    deliveries = delivered(atone)
    assert sorted(d["kind"] for d in deliveries) == ["authentication", "payment"]
    assert InboundWebhook.objects.filter(status="received").count() == 2  # stored before the 200
    assert not Payment.objects.filter(provider_ref=ref).exists()  # nothing applied by the web request
    run_worker()

    payment = Payment.objects.get(provider_ref=ref)
    assert (payment.state, payment.amount, payment.shop_transaction_no) == ("authorized", 13824, "CART-1001")
    assert payment.needs_review
    assert "Kessaiに記録のない取引" in payment.review_reason
    order = Order.objects.get(pk=payment.order_id)
    assert (order.shop_order_no, order.customer_name, order.needs_review) == ("CART-1001", "佐藤 花子", True)
    assert sum(i["unit_price"] * i["quantity"] for i in order.items) == 13824
    assert BuyerToken.objects.filter(account=atone.account, token_digest=digest(paid["authentication_token"])).exists()
    assert set(InboundWebhook.objects.values_list("status", flat=True)) == {"applied"}


def test_duplicated_and_reordered_webhooks_are_applied_once(atone):
    paid = atone.emulator.pay_in_widget(cart_widget(atone, "CART-2002"))
    deliveries = delivered(atone)
    urls = {d["kind"]: d["url"] for d in deliveries}

    # atone redelivers, late and out of order: payment first, then authentication, each twice.
    for delivery in sorted(deliveries, key=lambda d: d["kind"] != "payment") * 2:
        body = json.dumps(delivery["payload"], ensure_ascii=False).encode("utf-8")  # the same bytes again
        response = httpx.post(urls[delivery["kind"]], content=body, timeout=10.0)
        assert response.status_code == 200
        assert response.json() == {"received": True, "duplicate": True}
    run_worker()
    run_worker()

    payments = Payment.objects.filter(shop_transaction_no="CART-2002")
    assert payments.count() == 1
    payment = payments.get()
    assert payment.provider_ref == paid["response"]["id"]
    assert list(Operation.objects.filter(payment=payment).values_list("kind", "result")) == [("authorize", "succeeded")]
    statuses = sorted(InboundWebhook.objects.values_list("status", flat=True))
    assert statuses == ["applied", "applied", "duplicate", "duplicate", "duplicate", "duplicate"]


def test_a_payment_waiting_for_the_buyer_is_confirmed_by_the_webhook_alone(atone):
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]  # the browser never posts the result

    delivered(atone)
    run_worker()

    payment.refresh_from_db()
    assert (payment.state, payment.provider_ref, payment.needs_review) == ("authorized", ref, False)
    assert Operation.objects.get(payment=payment).actor == "webhook"

    # The browser comes back late with the same result: nothing more is recorded.
    late = services.confirm_checkout(payment, provider_ref=ref, actor="checkout")
    assert late.state == "authorized"
    assert Operation.objects.filter(payment=payment).count() == 1
