"""Idempotency-Key (Stripe semantics): replay, conflicts, scope, expiry, what is not stored."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from kessai.api import idempotency
from kessai.api.models import IdempotencyKey
from kessai.payments import orders as order_service
from kessai.payments.models import Operation, Order, Payment
from kessai.shops import services as shop_services
from tests import factories
from tests.api.client import ApiClient
from tests.api.helpers import authorized_payment, create_order

pytestmark = pytest.mark.django_db


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_same_key_same_body_replays_the_stored_response(client, method):
    body = factories.order_body()

    first = client.post("/orders", body, headers=_key("order-1"))
    second = client.post("/orders", body, headers=_key("order-1"))

    assert first.status == second.status == 201
    assert second.body == first.body
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Order.objects.count() == 1


def test_replayed_payment_start_calls_the_provider_once(client, method, fake_ledger):
    order = create_order(client)
    body = {"payment_method": "fake"}

    first = client.post(f"/orders/{order['id']}/payments", body, headers=_key("pay-1"))
    second = client.post(f"/orders/{order['id']}/payments", body, headers=_key("pay-1"))

    assert second.body == first.body
    assert fake_ledger.calls["authorize"] == 1
    assert Payment.objects.count() == 1


def test_key_order_and_whitespace_of_the_json_body_do_not_matter(client, method):
    body = factories.order_body()
    client.post("/orders", body, headers=_key("k"))
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()

    again = client.post("/orders", headers=_key("k"), raw_body=reordered)

    assert again.headers["Idempotent-Replayed"] == "true"


def test_same_key_different_body_is_409_and_changes_nothing(client, method):
    client.post("/orders", factories.order_body(shop_order_no="A-1"), headers=_key("k"))

    response = client.post("/orders", factories.order_body(shop_order_no="A-2"), headers=_key("k"))
    other_path = client.post("/webhook-endpoints", {"url": "https://x.example.jp/"}, headers=_key("k"))

    assert (response.status, response.body["code"]) == (409, "idempotency_key_reused")
    assert (other_path.status, other_path.body["code"]) == (409, "idempotency_key_reused")
    assert list(Order.objects.values_list("shop_order_no", flat=True)) == ["A-1"]


def test_duplicate_while_the_first_still_runs_is_409(client, shop, api_key, method):
    body = factories.order_body()
    raw = json.dumps(body).encode()
    fp = idempotency.fingerprint("POST", "/api/v1/orders", "test", raw)
    idempotency.begin(shop, "busy", fp, method="POST", path="/api/v1/orders")  # "another process" is running

    response = client.post("/orders", body, headers=_key("busy"))

    assert (response.status, response.body["code"]) == (409, "idempotency_key_in_use")
    assert not Order.objects.exists()


def test_an_abandoned_execution_may_be_taken_over_after_ten_minutes(client, shop, method):
    body = factories.order_body()
    fp = idempotency.fingerprint("POST", "/api/v1/orders", "test", json.dumps(body).encode())
    idempotency.begin(
        shop, "crashed", fp, method="POST", path="/api/v1/orders", now=timezone.now() - timedelta(minutes=11)
    )

    response = client.post("/orders", body, headers=_key("crashed"))

    assert response.status == 201
    assert IdempotencyKey.objects.get(key="crashed").status == "done"


def test_keys_are_scoped_per_shop(client, method, fake_ledger):
    other_shop = factories.shop("別のショップ")
    other = ApiClient(shop_services.create_api_key(other_shop, environment="test")[1])
    body = factories.order_body(shop_order_no="SAME-1")

    mine = client.post("/orders", body, headers=_key("shared"))
    theirs = other.post("/orders", body, headers=_key("shared"))

    assert mine.status == theirs.status == 201
    assert mine.body["id"] != theirs.body["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_live_key_cannot_replay_a_test_response(client, live_client, method):
    body = factories.order_body()
    client.post("/orders", body, headers=_key("k"))

    response = live_client.post("/orders", body, headers=_key("k"))

    assert (response.status, response.body["code"]) == (409, "idempotency_key_reused")


def test_keys_expire_after_24_hours(client, method):
    client.post("/orders", factories.order_body(shop_order_no="D-1"), headers=_key("daily"))

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        reused = client.post("/orders", factories.order_body(shop_order_no="D-2"), headers=_key("daily"))
        purged = idempotency.purge_expired()

    assert reused.status == 201
    assert purged == 0  # the reused row was renewed
    with time_machine.travel(timezone.now() + timedelta(hours=50)):
        assert idempotency.purge_expired() == 1
    assert not IdempotencyKey.objects.exists()


def test_validation_errors_are_stored_and_replayed(client, method):
    body = factories.order_body(amount=1)

    first = client.post("/orders", body, headers=_key("bad"))
    second = client.post("/orders", body, headers=_key("bad"))

    assert first.status == second.status == 422
    assert second.body == first.body
    assert second.headers["Idempotent-Replayed"] == "true"


def test_provider_timeout_is_stored_so_a_retry_does_not_move_money_again(client, method, fake_ledger):
    payment = authorized_payment(client)
    fake_ledger.script.append("lost")

    first = client.post(f"/payments/{payment['id']}/capture", headers=_key("cap"))
    second = client.post(f"/payments/{payment['id']}/capture", headers=_key("cap"))

    assert first.status == second.status == 504
    assert second.headers["Idempotent-Replayed"] == "true"
    assert fake_ledger.calls["capture"] == 1


def test_operation_in_progress_is_not_stored(client, method, fake_ledger):
    payment = authorized_payment(client)
    pending = Operation.objects.create(payment_id=payment["id"], kind="refresh", amount=0, actor="other")

    busy = client.post(f"/payments/{payment['id']}/capture", headers=_key("retry-me"))
    Operation.objects.filter(pk=pending.pk).update(result="succeeded")
    retried = client.post(f"/payments/{payment['id']}/capture", headers=_key("retry-me"))

    assert (busy.status, busy.body["code"]) == (409, "operation_in_progress")
    assert (retried.status, retried.body["state"]) == (200, "captured")
    assert "Idempotent-Replayed" not in retried.headers


def test_unexpected_errors_are_not_stored(api_key, method, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": "k500"}
    body = json.dumps(factories.order_body())
    with monkeypatch.context() as patch:
        patch.setattr(order_service, "create_order", explode)
        failed = Client(raise_request_exception=False).post(
            "/api/v1/orders", body, content_type="application/json", headers=headers
        )
    retried = Client().post("/api/v1/orders", body, content_type="application/json", headers=headers)

    assert failed.status_code == 500
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


def test_malformed_key_is_400(client, method):
    response = client.post("/orders", factories.order_body(), headers=_key("ключ"))

    assert (response.status, response.body["code"]) == (400, "invalid_idempotency_key")
    assert response.body["errors"][0]["field"] == "Idempotency-Key"
    assert not Order.objects.exists()


def test_bad_api_key_is_401_even_with_a_stored_idempotency_key(client, method):
    body = factories.order_body()
    client.post("/orders", body, headers=_key("k"))

    response = ApiClient("sk_test_wrong").post("/orders", body, headers=_key("k"))

    assert response.status == 401
