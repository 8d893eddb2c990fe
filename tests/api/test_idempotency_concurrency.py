"""Two concurrent requests with one Idempotency-Key on PostgreSQL: one runs, the other gets 409, the
provider is called once. (SQLite serialises writers, so this only means something on PostgreSQL.)"""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client

from kessai.payments.models import Operation, Payment
from kessai.shops import services as shop_services
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (concurrent transactions)")


def _race(path: str, body: dict[str, object], headers: dict[str, str]) -> list[tuple[int, str]]:
    barrier = threading.Barrier(2)
    outcomes: list[tuple[int, str]] = []

    def worker() -> None:
        try:
            barrier.wait()
            response = Client().post(path, json.dumps(body), content_type="application/json", headers=headers)
            payload = json.loads(response.content)
            outcomes.append((response.status_code, str(payload.get("code") or payload.get("state"))))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_two_concurrent_captures_with_one_key(fake_ledger):
    shop = factories.shop()
    payment = factories.authorized_payment(shop, factories.fake_method(shop))
    _, key = shop_services.create_api_key(shop, environment="test")
    fake_ledger.delay = 0.5  # the first request is still at the provider when the second arrives

    outcomes = _race(
        f"/api/v1/payments/{payment.id}/capture",
        {},
        {"Authorization": f"Bearer {key}", "Idempotency-Key": "capture-once"},
    )

    assert outcomes == [(200, "captured"), (409, "idempotency_key_in_use")]
    assert fake_ledger.calls["capture"] == 1
    assert Operation.objects.filter(payment=payment, kind="capture").count() == 1
    replay = Client().post(
        f"/api/v1/payments/{payment.id}/capture",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "capture-once"},
    )
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (200, "true")


def test_two_concurrent_payment_starts_with_one_key(fake_ledger):
    shop = factories.shop()
    factories.fake_method(shop)
    order = factories.order(shop)
    _, key = shop_services.create_api_key(shop, environment="test")
    fake_ledger.delay = 0.5

    outcomes = _race(
        f"/api/v1/orders/{order.id}/payments",
        {"payment_method": "fake"},
        {"Authorization": f"Bearer {key}", "Idempotency-Key": "start-once"},
    )

    assert outcomes == [(201, "authorized"), (409, "idempotency_key_in_use")]
    assert fake_ledger.calls["authorize"] == 1
    assert Payment.objects.filter(order=order).count() == 1
