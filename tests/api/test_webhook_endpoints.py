"""/webhook-endpoints: register (secret shown once), rotate, delivery log, resend, delete."""

from __future__ import annotations

import base64

import pytest
from django.utils import timezone

from kessai.webhooks.models import WebhookDelivery, WebhookEndpoint
from kessai.webhooks.outbound import delivery, dispatch
from tests.api.helpers import authorized_payment
from tests.webhooks.outbound.receiver import receiver

pytestmark = pytest.mark.django_db


def test_create_shows_the_secret_once(client, shop):
    created = client.post(
        "/webhook-endpoints",
        {"url": "https://shop.example.jp/kessai", "event_types": ["payment.captured", "payment.refunded"]},
    )
    fetched = client.get(f"/webhook-endpoints/{created.body['id']}")
    listed = client.get("/webhook-endpoints")

    assert created.status == 201
    secret = created.body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert created.body["id"].startswith("we_")
    assert (created.body["environment"], created.body["event_types"]) == (
        "test",
        ["payment.captured", "payment.refunded"],
    )
    assert "secret" not in fetched.body
    assert [e["id"] for e in listed.body["data"]] == [created.body["id"]]
    assert WebhookEndpoint.objects.get().secret == secret


def test_unknown_event_type_and_bad_url_are_field_errors(client, shop):
    bad_type = client.post("/webhook-endpoints", {"url": "https://x.example.jp/", "event_types": ["payment.exploded"]})
    bad_url = client.post("/webhook-endpoints", {"url": "ftp://x.example.jp/"})

    assert (bad_type.status, bad_type.body["errors"][0]["field"]) == (422, "event_types[0]")
    assert (bad_url.status, bad_url.body["errors"][0]["field"]) == (422, "url")
    assert not WebhookEndpoint.objects.exists()


def test_rotate_secret_returns_a_new_one_and_keeps_the_old_for_a_day(client, shop):
    created = client.post("/webhook-endpoints", {"url": "https://shop.example.jp/kessai"})

    rotated = client.post(f"/webhook-endpoints/{created.body['id']}/rotate-secret")

    assert rotated.status == 200
    assert rotated.body["secret"] != created.body["secret"]
    assert rotated.body["previous_secret_expires_at"] is not None
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.previous_secret == created.body["secret"]


def test_delivery_log_and_resend(client, method):
    with receiver([500]) as hook:
        endpoint = client.post("/webhook-endpoints", {"url": hook.url, "event_types": ["payment.authorized"]})
        authorized_payment(client)
        now = timezone.now()
        dispatch.fan_out(now=now)
        delivery.deliver_due(now=now)

        log = client.get(f"/webhook-endpoints/{endpoint.body['id']}/deliveries")
        [entry] = log.body["data"]
        resent = client.post(f"/webhook-endpoints/{endpoint.body['id']}/deliveries/{entry['id']}/resend")
        delivery.deliver_due(now=timezone.now())
        after = client.get(f"/webhook-endpoints/{endpoint.body['id']}/deliveries?status=succeeded")

    assert entry["id"].startswith("dlv_")
    assert (entry["event_type"], entry["status"], entry["attempts"], entry["last_status_code"]) == (
        "payment.authorized",
        "pending",
        1,
        500,
    )
    assert [a["status_code"] for a in entry["attempt_log"]] == [500]
    assert (resent.status, resent.body["status"], resent.body["attempts"]) == (202, "pending", 0)
    [done] = after.body["data"]
    assert [a["status_code"] for a in done["attempt_log"]] == [500, 200]
    assert len(hook.received) == 2


def test_delivery_log_pages(client, method):
    endpoint = client.post("/webhook-endpoints", {"url": "https://shop.example.jp/kessai"})
    for _ in range(3):
        authorized_payment(client)
    dispatch.fan_out()

    first = client.get(f"/webhook-endpoints/{endpoint.body['id']}/deliveries?limit=2")
    second = client.get(f"/webhook-endpoints/{endpoint.body['id']}/deliveries?cursor={first.body['next_cursor']}")

    ids = [d["id"] for d in first.body["data"] + second.body["data"]]
    assert len(ids) == len(set(ids)) == 3
    assert second.body["has_more"] is False


def test_delete_drops_the_endpoint_and_its_deliveries(client, method):
    endpoint = client.post("/webhook-endpoints", {"url": "https://shop.example.jp/kessai"})
    authorized_payment(client)
    dispatch.fan_out()

    deleted = client.delete(f"/webhook-endpoints/{endpoint.body['id']}")
    again = client.get(f"/webhook-endpoints/{endpoint.body['id']}")

    assert deleted.body == {"id": endpoint.body["id"], "deleted": True}
    assert again.status == 404
    assert not WebhookDelivery.objects.exists()


def test_unknown_delivery_is_404(client, shop):
    endpoint = client.post("/webhook-endpoints", {"url": "https://shop.example.jp/kessai"})

    response = client.post(f"/webhook-endpoints/{endpoint.body['id']}/deliveries/dlv_999/resend")
    malformed = client.post(f"/webhook-endpoints/{endpoint.body['id']}/deliveries/nope/resend")

    assert response.status == 404
    assert malformed.status == 404
