"""Several workers over the same due set on PostgreSQL (FOR UPDATE SKIP LOCKED): no cycle is charged twice.

Run with ``scripts/pg-cluster .venv/bin/pytest tests/billing -q``."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
from django.db import connection, connections

from kessai.billing import services
from kessai.billing.models import CycleStatus, SubscriptionCycle
from tests.billing.helpers import jst, shop_with_method, subscription

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DUE = 120


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite ignores select_for_update)")


def due_set(n: int) -> None:
    shop, method = shop_with_method()
    first = subscription(shop, method, first=date(2024, 3, 1))
    for i in range(n - 1):
        subscription(shop, method, first=date(2024, 3, 1), member_no=str(i + 2))
    assert first.next_billing_on == date(2024, 3, 1)


def test_two_workers_over_the_same_due_set_never_charge_a_cycle_twice(fake_ledger):
    due_set(DUE)
    fake_ledger.delay = 0.01  # keep charges in flight while the other worker claims
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(services.run_due(jst(2024, 3, 1), batch_size=5, send_mails=False).as_dict())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    keys = Counter(tx.shop_transaction_no for tx in fake_ledger.txs.values())
    assert fake_ledger.calls["charge"] == DUE
    assert len(keys) == DUE
    assert max(keys.values()) == 1
    assert sum(r["charged"] for r in results) == DUE
    assert all(r["charged"] > 0 for r in results), results  # SKIP LOCKED split the work, nobody waited it out
    assert SubscriptionCycle.objects.filter(status=CycleStatus.CHARGED).count() == DUE


def test_threads_inside_one_run_share_the_due_set(fake_ledger):
    due_set(DUE)
    fake_ledger.delay = 0.005
    result = services.run_due(jst(2024, 3, 1), batch_size=3, concurrency=4, send_mails=False)
    keys = Counter(tx.shop_transaction_no for tx in fake_ledger.txs.values())
    assert result.as_dict() == {"charged": DUE, "failed": 0, "skipped": 0}
    assert len(keys) == DUE
    assert max(keys.values()) == 1
    assert SubscriptionCycle.objects.count() == DUE


def test_a_worker_recovering_abandoned_claims_and_a_worker_charging_do_not_collide(fake_ledger):
    due_set(40)
    now = jst(2024, 3, 1, 9)
    # A dead worker's claims: cycles, orders and payments committed, nothing sent.
    while services._claim_due(now.date(), now, 10, services.RunResult()):
        pass
    later = now + services.CLAIM_LEASE * 2
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(services.run_due(later, batch_size=2, send_mails=False).as_dict())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake_ledger.calls["charge"] == 40
    assert sum(r["charged"] for r in results) == 40
    assert max(Counter(tx.shop_transaction_no for tx in fake_ledger.txs.values()).values()) == 1


def test_the_due_claim_reads_the_batch_from_the_index_instead_of_sorting_every_due_subscription(fake_ledger):
    # found by the 100,000-subscription run: ordered by (next_billing_on, id) with an index on (status,
    # next_billing_on) only, every claim sorted all due rows (293 ms at 100,000, on disk) — quadratic over a run
    from django.db import transaction

    from kessai.billing.models import Subscription

    shop, method = shop_with_method()
    template = subscription(shop, method, first=date(2024, 3, 1))
    copies = []
    for i in range(3000):
        copy = Subscription(
            shop=shop,
            account=template.account,
            payment_method=method,
            member_no=str(i + 2),
            customer=template.customer,
            customer_name=template.customer_name,
            customer_email=template.customer_email,
            items=template.items,
            amount=template.amount,
            initial_amount=template.amount,
            billing_day=template.billing_day,
            applied_at=template.applied_at,
            first_billing_on=template.first_billing_on,
            next_billing_on=template.next_billing_on,
        )
        copy.order_no = f"SUB-{copy.key}"
        services.seal_token(copy, "tk_fake_buyer_token_0001")
        copies.append(copy)
    Subscription.objects.bulk_create(copies)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_subscription")

    with transaction.atomic():
        sql, params = services.due_subscriptions(date(2024, 3, 1), 10).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "subscription_due_order" in plan, plan
    assert "Sort" not in plan, plan
