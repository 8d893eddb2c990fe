"""Invariant 1 on PostgreSQL: two concurrent captures of one payment → exactly one provider call."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kessai.payments import services
from kessai.payments.models import Payment
from kessai.payments.state import InvalidTransition
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite ignores select_for_update)")


def test_two_concurrent_captures_make_exactly_one_provider_call(fake_ledger):
    shop = factories.shop()
    payment = factories.authorized_payment(shop, factories.fake_method(shop))
    fake_ledger.delay = 0.3  # keep the first call in flight while the second arrives
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            services.capture(Payment.objects.get(pk=payment.pk), actor="race")
            outcomes.append("captured")
        except InvalidTransition as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # the second caller finds the first one's pending operation (committed before the provider call)
    assert sorted(outcomes) == ["PaymentBusy", "captured"]
    assert fake_ledger.calls["capture"] == 1
    payment.refresh_from_db()
    assert payment.state == "captured"
    assert payment.operations.filter(kind="capture").count() == 1
