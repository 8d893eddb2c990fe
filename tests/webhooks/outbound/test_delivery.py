"""Delivery over real HTTP to a local receiver: signing, retries on the backoff schedule, give-up, resend."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from kessai.webhooks.models import WebhookDelivery
from kessai.webhooks.outbound import delivery, dispatch
from kessai.webhooks.outbound import services as outbound
from tests import factories
from tests.webhooks.outbound.receiver import receiver
from tests.webhooks.outbound.verifier import is_signed_by, signatures

pytestmark = pytest.mark.django_db


def test_schedule_is_exponential_and_stays_within_three_days():
    assert [int(d.total_seconds()) for d in delivery.RETRY_DELAYS] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
        36000,
        36000,
        36000,
        36000,
    ]
    assert sum(delivery.RETRY_DELAYS, timedelta()) <= timedelta(days=3)
    assert delivery.MAX_ATTEMPTS == 12


def test_fails_three_times_then_gets_the_event_exactly_once_more(shop):
    with receiver([500, 503, 500]) as hook:
        endpoint = outbound.create_endpoint(shop, environment="test", url=hook.url)
        payment = factories.authorized_payment(shop)
        t0 = timezone.now()
        dispatch.fan_out(now=t0)

        sent_at = [t0]
        delivery.deliver_due(now=t0)  # 1st: 500
        assert delivery.deliver_due(now=t0 + timedelta(seconds=4)) == {"sent": 0, "failed": 0}  # not due yet
        for wait in (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30)):  # 503, 500, 200
            sent_at.append(sent_at[-1] + wait)
            delivery.deliver_due(now=sent_at[-1])
        for later in (timedelta(hours=1), timedelta(days=1), timedelta(days=4)):
            assert delivery.deliver_due(now=sent_at[-1] + later) == {"sent": 0, "failed": 0}

    assert len(hook.received) == 4
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.last_status_code) == ("succeeded", 4, 200)
    assert list(row.attempt_log.values_list("status_code", flat=True)) == [500, 503, 500, 200]
    event_id = row.event_id
    for request, moment in zip(hook.received, sent_at, strict=True):
        assert request.headers["webhook-id"] == event_id
        assert request.headers["webhook-timestamp"] == str(int(moment.timestamp()))
        assert request.headers["content-type"] == "application/json"
        assert is_signed_by(endpoint.secret, request.headers, request.body)
        assert len(signatures(request.headers)) == 1
    body = json.loads(hook.received[-1].body)
    assert (body["id"], body["type"], body["environment"]) == (event_id, "payment.authorized", "test")
    assert body["data"]["payment"]["id"] == payment.id
    assert len({r.body for r in hook.received}) == 1  # the same bytes on every retry


def test_gives_up_after_three_days_and_a_resend_starts_again(shop):
    with receiver([500] * 20) as hook:
        outbound.create_endpoint(shop, environment="test", url=hook.url)
        factories.authorized_payment(shop)
        t0 = timezone.now()
        dispatch.fan_out(now=t0)
        now = t0
        while True:
            delivery.deliver_due(now=now)
            row = WebhookDelivery.objects.get()
            if row.status != "pending":
                break
            now = row.next_attempt_at

        assert (row.status, row.attempts) == ("failed", 12)
        assert len(hook.received) == 12
        assert now - t0 <= timedelta(days=3)
        assert delivery.deliver_due(now=now + timedelta(days=10)) == {"sent": 0, "failed": 0}

        outbound.resend(row, now=now + timedelta(days=10))
        hook.statuses[:] = []
        delivery.deliver_due(now=now + timedelta(days=10))

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("succeeded", 1)
    assert row.attempt_log.count() == 13
    assert len(hook.received) == 13


def test_rotation_signs_with_both_secrets_for_a_day(shop):
    with receiver() as hook:
        endpoint = outbound.create_endpoint(shop, environment="test", url=hook.url)
        old_secret = endpoint.secret
        t0 = timezone.now()
        endpoint = outbound.rotate_secret(endpoint, now=t0)
        factories.authorized_payment(shop)
        dispatch.fan_out(now=t0)
        delivery.deliver_due(now=t0)
        WebhookDelivery.objects.update(status="pending", next_attempt_at=t0 + timedelta(hours=25))
        delivery.deliver_due(now=t0 + timedelta(hours=25))

    during, after = hook.received
    assert len(signatures(during.headers)) == 2
    assert is_signed_by(endpoint.secret, during.headers, during.body)
    assert is_signed_by(old_secret, during.headers, during.body)
    assert len(signatures(after.headers)) == 1
    assert is_signed_by(endpoint.secret, after.headers, after.body)
    assert not is_signed_by(old_secret, after.headers, after.body)


def test_connection_refused_is_logged_and_retried(shop):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outbound.create_endpoint(shop, environment="test", url=f"http://127.0.0.1:{port}/nobody")
    factories.authorized_payment(shop)
    t0 = timezone.now()
    dispatch.fan_out(now=t0)

    result = delivery.deliver_due(now=t0)

    row = WebhookDelivery.objects.get()
    assert result == {"sent": 0, "failed": 1}
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert row.last_error.startswith("ConnectError")
    assert row.next_attempt_at == t0 + timedelta(seconds=5)


def test_a_claimed_delivery_is_not_claimed_again_while_leased(shop):
    outbound.create_endpoint(shop, environment="test", url="https://a.example.jp/x")
    factories.authorized_payment(shop)
    t0 = timezone.now()
    dispatch.fan_out(now=t0)

    first = delivery.claim_due(t0, 10)
    second = delivery.claim_due(t0 + timedelta(seconds=30), 10)
    after_lease = delivery.claim_due(t0 + delivery.LEASE, 10)

    assert len(first) == 1
    assert second == []
    assert after_lease == first


def test_production_installs_refuse_private_addresses(shop, settings):
    settings.KESSAI_ALLOW_SANDBOX = False

    with pytest.raises(outbound.ValidationFailed) as plain:
        outbound.create_endpoint(shop, environment="test", url="http://shop.example.jp/hook")
    with pytest.raises(outbound.ValidationFailed) as loopback:
        outbound.create_endpoint(shop, environment="test", url="https://127.0.0.1/hook")

    assert "url" in plain.value.errors
    assert "url" in loopback.value.errors
