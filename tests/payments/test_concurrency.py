"""Invariant 1 on PostgreSQL: two concurrent captures of one payment → exactly one provider call."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

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


def test_captures_queued_behind_a_row_lock_see_each_others_pending_operation(fake_ledger):
    """Both callers wait on the payment's row lock, then run one after the other. The second must see the pending
    operation the first committed while it waited — a lookup inside the locking SELECT (a subquery) would not:
    under READ COMMITTED it keeps the snapshot from before the lock wait (found by tests/scaleout)."""
    shop = factories.shop()
    payment = factories.authorized_payment(shop, factories.fake_method(shop))
    fake_ledger.delay = 0.3
    outcomes: list[str] = []
    started = threading.Barrier(3)

    def worker() -> None:
        try:
            started.wait()
            services.capture(Payment.objects.get(pk=payment.pk), actor="queued")
            outcomes.append("captured")
        except InvalidTransition as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    with transaction.atomic():
        Payment.objects.select_for_update().get(pk=payment.pk)  # both captures queue behind this lock
        for t in threads:
            t.start()
        started.wait()
        time.sleep(0.5)  # long enough for both to be waiting on the lock
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["PaymentBusy", "captured"]
    assert fake_ledger.calls["capture"] == 1
