"""Fan-out from the outbox: one delivery per matching endpoint, environment and event type respected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kessai.payments import services
from kessai.webhooks.models import OutboundEvent, WebhookDelivery
from kessai.webhooks.outbound import dispatch
from kessai.webhooks.outbound import services as outbound
from tests import factories

pytestmark = pytest.mark.django_db


def _deliveries() -> list[tuple[str, str]]:
    return sorted(WebhookDelivery.objects.values_list("endpoint__url", "event__type"))


def test_events_go_to_endpoints_that_chose_them(shop):
    everything = outbound.create_endpoint(shop, environment="test", url="https://a.example.jp/all")
    captures = outbound.create_endpoint(
        shop, environment="test", url="https://a.example.jp/captures", event_types=["payment.captured"]
    )
    live = outbound.create_endpoint(shop, environment="production", url="https://a.example.jp/live")
    payment = factories.authorized_payment(shop)
    services.capture(payment, actor="test")

    created = dispatch.fan_out()

    assert created == 3
    assert _deliveries() == [
        (everything.url, "payment.authorized"),
        (everything.url, "payment.captured"),
        (captures.url, "payment.captured"),
    ]
    assert not WebhookDelivery.objects.filter(endpoint=live).exists()
    assert not OutboundEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_fan_out_twice_creates_nothing_new(shop):
    outbound.create_endpoint(shop, environment="test", url="https://a.example.jp/all")
    factories.authorized_payment(shop)

    first = dispatch.fan_out()
    OutboundEvent.objects.update(dispatched_at=None)  # as if a worker crashed before marking
    second = dispatch.fan_out()

    assert (first, second) == (1, 0)
    assert WebhookDelivery.objects.count() == 1


def test_endpoint_registered_later_does_not_get_older_events(shop):
    factories.authorized_payment(shop)
    OutboundEvent.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    outbound.create_endpoint(shop, environment="test", url="https://a.example.jp/all")

    assert dispatch.fan_out() == 0


def test_other_shops_endpoints_get_nothing(shop, fake_ledger):
    other = factories.shop("別のショップ")
    outbound.create_endpoint(other, environment="test", url="https://b.example.jp/all")
    factories.authorized_payment(shop)

    assert dispatch.fan_out() == 0


def test_error_log_entries_are_published(shop, fake_ledger):
    endpoint = outbound.create_endpoint(
        shop, environment="test", url="https://a.example.jp/errors", event_types=["payment_error.created"]
    )
    fake_ledger.script.append("decline")
    with pytest.raises(services.ProviderDeclined):
        factories.authorized_payment(shop)

    dispatch.fan_out()

    event = OutboundEvent.objects.get(type="payment_error.created")
    assert event.payload["environment"] == "test"
    assert event.payload["payment_error"]["code"] == "authorize:NG"
    assert WebhookDelivery.objects.get().endpoint == endpoint
