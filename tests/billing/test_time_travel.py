"""Fourteen months of a subscription, run day by day with the clock moved by time-machine: monthly charges on
the application day (31st, month ends clamped), a 決済エラー and its 再決済, a stop and a resume (the dates in
between are スキップ), an amount change — with the exact dates and amounts the provider saw."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine

from kessai.billing import services
from kessai.billing.models import CycleStatus, SubscriptionCycle
from kessai.payments.models import Payment
from tests.billing.helpers import jst, shop_with_method, subscription

pytestmark = pytest.mark.django_db


def test_fourteen_months_with_a_failure_a_stop_a_resume_and_a_price_change(fake_ledger):
    shop, method = shop_with_method(options={"recurring_capture": "immediate"})
    with time_machine.travel(jst(2024, 1, 15, 16, 39), tick=False) as clock:
        sub = subscription(shop, method, amount=3240, first=date(2024, 1, 31))
        totals = {"charged": 0, "failed": 0, "skipped": 0}
        day = date(2024, 1, 15)
        while day <= date(2025, 3, 31):
            clock.move_to(jst(day.year, day.month, day.day, 3, 0))  # the nightly run, 03:00 JST
            if day == date(2024, 8, 31):
                fake_ledger.script.append("decline")
            result = services.run_due()
            for key, value in result.as_dict().items():
                totals[key] += value
            clock.move_to(jst(day.year, day.month, day.day, 11, 0))  # staff at work
            if day == date(2024, 9, 2):
                services.retry(SubscriptionCycle.objects.get(subscription=sub, cycle_date=date(2024, 8, 31)), actor="u")
            if day == date(2024, 5, 10):
                services.stop(sub, actor="u")
            if day == date(2024, 7, 15):
                services.resume(sub, actor="u")
            if day == date(2024, 9, 15):
                services.update(sub, actor="u", amount=5400)
            day += timedelta(days=1)

    cycles = [(c.cycle_date, c.status, c.amount, c.attempts) for c in sub.cycles.order_by("cycle_date")]
    charged, skipped, failed = CycleStatus.CHARGED, CycleStatus.SKIPPED, CycleStatus.FAILED
    assert cycles == [
        (date(2024, 1, 31), charged, 3240, 1),
        (date(2024, 2, 29), charged, 3240, 1),
        (date(2024, 3, 31), charged, 3240, 1),
        (date(2024, 4, 30), charged, 3240, 1),
        (date(2024, 5, 31), skipped, 3240, 0),
        (date(2024, 6, 30), skipped, 3240, 0),
        (date(2024, 7, 31), charged, 3240, 1),
        (date(2024, 8, 31), charged, 3240, 2),
        (date(2024, 9, 30), charged, 5400, 1),
        (date(2024, 10, 31), charged, 5400, 1),
        (date(2024, 11, 30), charged, 5400, 1),
        (date(2024, 12, 31), charged, 5400, 1),
        (date(2025, 1, 31), charged, 5400, 1),
        (date(2025, 2, 28), charged, 5400, 1),
        (date(2025, 3, 31), charged, 5400, 1),
    ]
    assert failed not in {c[1] for c in cycles}
    # The run counted the decline (later repaired by hand); the resume recorded the stop's dates itself.
    assert totals == {"charged": 12, "failed": 1, "skipped": 0}

    # What the provider saw: one transaction per charge attempt, keyed by (subscription, cycle date).
    seen = sorted((tx.shop_transaction_no, tx.amount, tx.status.value) for tx in fake_ledger.txs.values())
    key = f"SUB-{sub.key}-"
    assert seen == sorted(
        [
            (key + "20240131", 3240, "captured"),
            (key + "20240229", 3240, "captured"),
            (key + "20240331", 3240, "captured"),
            (key + "20240430", 3240, "captured"),
            (key + "20240731", 3240, "captured"),
            (key + "20240831", 3240, "declined"),
            (key + "20240831-R2", 3240, "captured"),
            (key + "20240930", 5400, "captured"),
            (key + "20241031", 5400, "captured"),
            (key + "20241130", 5400, "captured"),
            (key + "20241231", 5400, "captured"),
            (key + "20250131", 5400, "captured"),
            (key + "20250228", 5400, "captured"),
            (key + "20250331", 5400, "captured"),
        ]
    )
    assert fake_ledger.calls["charge"] == 14
    assert Payment.objects.filter(shop=shop, state="captured").count() == 13
    sub.refresh_from_db()
    assert (sub.next_billing_on, sub.amount, sub.status) == (date(2025, 4, 30), 5400, "active")
    retry_payment = SubscriptionCycle.objects.get(subscription=sub, cycle_date=date(2024, 8, 31)).payment
    assert retry_payment.created_at.date() == date(2024, 9, 2)
