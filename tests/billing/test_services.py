"""継続課金 services against the fake provider: creation, the due run, failures, 再決済, changes."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from kessai.billing import services
from kessai.billing.models import BillingSettings, CycleStatus, Subscription, SubscriptionCycle, SubscriptionStatus
from kessai.payments.models import Operation, Payment
from kessai.providers.base import ProviderDeclined
from kessai.shops.errors import ValidationFailed
from kessai.shops.keyring import KeyRingError
from tests import factories
from tests.billing.helpers import jst, shop_with_method, subscription

pytestmark = pytest.mark.django_db


def test_create_subscription_encrypts_the_token_bound_to_the_row(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method)
    other = subscription(shop, method, member_no="2000")

    raw = Subscription.objects.values_list("token_encrypted", flat=True).get(pk=sub.pk)
    assert "tk_fake" not in raw
    assert services.buyer_token(sub) == "tk_fake_buyer_token_0001"
    other.token_encrypted = raw  # a ciphertext copied onto another row does not decrypt
    with pytest.raises(KeyRingError):
        services.buyer_token(other)
    assert sub.billing_day == 31
    assert sub.next_billing_on == date(2024, 1, 31)
    assert sub.order_no == f"SUB-{sub.key}"
    assert sub.status == SubscriptionStatus.ACTIVE


def test_create_subscription_refuses_bad_input_and_stores_nothing(fake_ledger):
    shop, method = shop_with_method()
    with pytest.raises(ValidationFailed) as err:
        services.create_subscription(
            shop,
            payment_method=method.code,
            token=" ",
            customer={"name": "", "phone": "12", "zip_code": "1", "address": ""},
            items=[{"sku": "A", "name": "A", "unit_price": 1000, "quantity": 1}],
            amount=999,
            first_billing_on=date(2024, 1, 1),
            billing_day=29,
            interval_months=0,
        )
    assert set(err.value.errors) >= {
        "token",
        "customer.name",
        "customer.phone",
        "customer.zip_code",
        "amount",
        "billing_day",
        "interval_months",
    }
    assert err.value.errors["billing_day"] == "課金日は1〜28日で指定してください。"
    assert Subscription.objects.count() == 0


def test_create_from_payment_records_the_first_checkout_as_the_first_cycle(fake_ledger):
    shop, method = shop_with_method()
    with time_machine.travel(jst(2019, 7, 19, 16, 39), tick=False):
        payment = factories.authorized_payment(shop, method)
    payment.buyer_token = "tk_from_checkout_0001"
    payment.save(update_fields=["buyer_token_encrypted", "buyer_token_digest"])

    sub = services.create_from_payment(payment, member_no="1015", renewal_interval_months=12)

    assert services.buyer_token(sub) == "tk_from_checkout_0001"
    assert (sub.first_billing_on, sub.next_billing_on, sub.next_renewal_on) == (
        date(2019, 7, 19),
        date(2019, 8, 19),
        date(2020, 7, 19),
    )
    assert (sub.amount, sub.initial_amount, sub.order_no) == (13824, 13824, payment.order.shop_order_no)
    [cycle] = sub.cycles.all()
    assert (cycle.cycle_date, cycle.status, cycle.payment_id, cycle.trigger) == (
        date(2019, 7, 19),
        CycleStatus.CHARGED,
        payment.pk,
        "checkout",
    )
    with pytest.raises(ValidationFailed) as err:
        services.create_from_payment(payment)
    assert err.value.code == "duplicate_subscription"


def test_create_from_payment_needs_a_token_and_an_authorized_payment(fake_ledger):
    shop, method = shop_with_method()
    payment = factories.authorized_payment(shop, method)
    with pytest.raises(ValidationFailed) as err:
        services.create_from_payment(payment)
    assert err.value.errors == {"token": "購入者の決済認証トークンがありません。"}
    fake_ledger.script.append("decline")
    with pytest.raises(ProviderDeclined):
        factories.authorized_payment(shop, method)
    declined = Payment.objects.get(state="declined")
    declined.buyer_token = "tk_x"
    with pytest.raises(ValidationFailed) as err:
        services.create_from_payment(declined)
    assert err.value.code == "payment_not_authorized"
    assert Subscription.objects.count() == 0


def test_run_due_charges_each_due_cycle_once_with_keyed_transaction_numbers(fake_ledger):
    shop, method = shop_with_method()
    due = subscription(shop, method, first=date(2024, 3, 1))
    later = subscription(shop, method, first=date(2024, 3, 2), member_no="2")

    first = services.run_due(jst(2024, 3, 1, 0, 5))
    again = services.run_due(jst(2024, 3, 1, 23, 0))

    assert first.as_dict() == {"charged": 1, "failed": 0, "skipped": 0}
    assert again.as_dict() == {"charged": 0, "failed": 0, "skipped": 0}
    assert fake_ledger.calls["charge"] == 1
    [tx] = fake_ledger.txs.values()
    assert tx.shop_transaction_no == f"SUB-{due.key}-20240301"
    cycle = SubscriptionCycle.objects.get(subscription=due)
    assert (cycle.status, cycle.amount, cycle.attempts, cycle.payment.state) == (
        CycleStatus.CHARGED,
        3240,
        1,
        "authorized",
    )
    assert cycle.order.shop_order_no == tx.shop_transaction_no
    assert cycle.payment.operations.get().actor == "scheduler"
    due.refresh_from_db()
    assert due.next_billing_on == date(2024, 4, 1)
    assert not SubscriptionCycle.objects.filter(subscription=later).exists()


def test_due_is_decided_on_the_tokyo_calendar(fake_ledger):
    shop, method = shop_with_method()
    subscription(shop, method, first=date(2024, 2, 1))
    assert services.run_due(jst(2024, 1, 31, 23, 59)).charged == 0
    assert services.run_due(jst(2024, 2, 1, 0, 0)).charged == 1


def test_immediate_capture_mode_comes_from_the_account(fake_ledger):
    shop, method = shop_with_method(options={"recurring_capture": "immediate"})
    sub = subscription(shop, method, first=date(2024, 3, 1))
    services.run_due(jst(2024, 3, 1))
    payment = SubscriptionCycle.objects.get(subscription=sub).payment
    assert (payment.capture_mode, payment.state, payment.captured_amount) == ("immediate", "captured", 3240)


def test_stopped_subscriptions_are_not_charged(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 1))
    services.stop(sub, actor="test")
    assert services.run_due(jst(2024, 3, 5)).as_dict() == {"charged": 0, "failed": 0, "skipped": 0}
    assert fake_ledger.calls["charge"] == 0


def test_missed_dates_after_an_outage_are_skipped_not_charged_in_a_pile(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 1, 10), billing_day=10)
    result = services.run_due(jst(2024, 3, 11))
    assert result.as_dict() == {"charged": 1, "failed": 0, "skipped": 2}
    assert [(c.cycle_date, c.status) for c in sub.cycles.order_by("cycle_date")] == [
        (date(2024, 1, 10), CycleStatus.SKIPPED),
        (date(2024, 2, 10), CycleStatus.SKIPPED),
        (date(2024, 3, 10), CycleStatus.CHARGED),
    ]
    assert fake_ledger.calls["charge"] == 1


def test_declined_charge_marks_the_cycle_and_retry_keeps_the_failed_attempt(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 1))
    fake_ledger.script.append("decline")
    assert services.run_due(jst(2024, 3, 1)).as_dict() == {"charged": 0, "failed": 1, "skipped": 0}
    cycle = SubscriptionCycle.objects.get(subscription=sub)
    assert (cycle.status, cycle.message, cycle.next_retry_on) == (CycleStatus.FAILED, "与信NGです。", None)

    # Manual retries only (auto retry off): the next runs leave it alone.
    assert services.run_due(jst(2024, 3, 8)).as_dict() == {"charged": 0, "failed": 0, "skipped": 0}

    retried = services.retry(cycle, actor="user:ops", at=jst(2024, 3, 9))

    assert (retried.status, retried.attempts, retried.message) == (CycleStatus.CHARGED, 2, "")
    attempts = list(Payment.objects.filter(order=cycle.order).order_by("created_at", "id"))
    assert [(p.shop_transaction_no, p.state) for p in attempts] == [
        (f"SUB-{sub.key}-20240301", "declined"),
        (f"SUB-{sub.key}-20240301-R2", "authorized"),
    ]
    assert retried.payment_id == attempts[1].pk
    assert fake_ledger.calls["charge"] == 2
    with pytest.raises(ValidationFailed) as err:
        services.retry(retried, actor="user:ops")
    assert err.value.code == "cycle_not_retryable"
    assert fake_ledger.calls["charge"] == 2


def test_retry_is_refused_while_the_outcome_is_unknown(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 1))
    fake_ledger.script.append("lost")  # stored at the provider, answer lost
    assert services.run_due(jst(2024, 3, 1)).as_dict() == {"charged": 0, "failed": 0, "skipped": 1}
    cycle = SubscriptionCycle.objects.get(subscription=sub)
    assert (cycle.status, cycle.payment.state) == (CycleStatus.SCHEDULED, "unknown")
    with pytest.raises(ValidationFailed):
        services.retry(cycle, actor="user:ops")
    assert fake_ledger.calls["charge"] == 1


def test_automatic_retries_on_days_3_and_7(fake_ledger):
    shop, method = shop_with_method()
    BillingSettings.objects.create(shop=shop, auto_retry=True, retry_days=[3, 7])
    sub = subscription(shop, method, first=date(2024, 3, 1))
    fake_ledger.script.extend(["decline", "decline", "ok"])

    assert services.run_due(jst(2024, 3, 1)).failed == 1
    cycle = SubscriptionCycle.objects.get(subscription=sub)
    assert cycle.next_retry_on == date(2024, 3, 4)
    assert services.run_due(jst(2024, 3, 3)).as_dict() == {"charged": 0, "failed": 0, "skipped": 0}
    assert services.run_due(jst(2024, 3, 4)).failed == 1
    cycle.refresh_from_db()
    assert (cycle.attempts, cycle.next_retry_on) == (2, date(2024, 3, 8))
    assert services.run_due(jst(2024, 3, 8)).charged == 1
    cycle.refresh_from_db()
    assert (cycle.status, cycle.attempts, cycle.trigger, cycle.next_retry_on) == (
        CycleStatus.CHARGED,
        3,
        "auto_retry",
        None,
    )
    assert fake_ledger.calls["charge"] == 3


def test_automatic_retries_stop_after_the_last_day(fake_ledger):
    shop, method = shop_with_method()
    BillingSettings.objects.create(shop=shop, auto_retry=True, retry_days=[3])
    sub = subscription(shop, method, first=date(2024, 3, 1))
    fake_ledger.script.extend(["decline", "decline"])
    services.run_due(jst(2024, 3, 1))
    services.run_due(jst(2024, 3, 4))
    cycle = SubscriptionCycle.objects.get(subscription=sub)
    assert (cycle.status, cycle.next_retry_on, cycle.attempts) == (CycleStatus.FAILED, None, 2)
    services.run_due(jst(2024, 3, 20))
    assert fake_ledger.calls["charge"] == 2


def test_charge_now_charges_the_due_cycle_or_an_extra_one_once_a_day(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 10), billing_day=10)

    extra = services.charge_now(sub, actor="user:ops", at=jst(2024, 3, 5))
    assert (extra.cycle_date, extra.status, extra.trigger) == (date(2024, 3, 5), CycleStatus.CHARGED, "manual")
    sub.refresh_from_db()
    assert sub.next_billing_on == date(2024, 3, 10)  # the schedule is unchanged
    with pytest.raises(ValidationFailed) as err:
        services.charge_now(sub, actor="user:ops", at=jst(2024, 3, 5, 18))
    assert err.value.code == "cycle_exists"

    due = services.charge_now(sub, actor="user:ops", at=jst(2024, 3, 10))
    assert due.cycle_date == date(2024, 3, 10)
    sub.refresh_from_db()
    assert sub.next_billing_on == date(2024, 4, 10)
    assert services.run_due(jst(2024, 3, 10, 23)).charged == 0
    assert fake_ledger.calls["charge"] == 2


def test_update_changes_future_charges_only(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 1), billing_day=1)
    services.run_due(jst(2024, 3, 1))

    services.update(
        sub,
        actor="user:ops",
        amount=5400,
        next_billing_on=date(2024, 3, 20),
        next_renewal_on=date(2025, 3, 1),
        at=jst(2024, 3, 2),
    )
    sub.refresh_from_db()
    assert (sub.amount, sub.next_billing_on, sub.next_renewal_on, sub.initial_amount) == (
        5400,
        date(2024, 3, 20),
        date(2025, 3, 1),
        3240,
    )
    assert sub.items == [{"sku": "SUB", "name": "月刊ウェルカート", "unit_price": 5400, "quantity": 1}]
    services.run_due(jst(2024, 3, 20))
    assert [(c.cycle_date, c.amount) for c in sub.cycles.order_by("cycle_date")] == [
        (date(2024, 3, 1), 3240),
        (date(2024, 3, 20), 5400),
    ]
    sub.refresh_from_db()
    assert sub.next_billing_on == date(2024, 4, 1)  # back on the billing day


def test_update_refuses_past_dates_taken_dates_and_bad_amounts(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 1))
    services.run_due(jst(2024, 3, 1))
    with pytest.raises(ValidationFailed) as err:
        services.update(
            sub,
            actor="t",
            next_billing_on=date(2024, 3, 1),
            amount=0,
            next_renewal_on=date(2024, 1, 1),
            at=jst(2024, 3, 1, 12),
        )
    assert set(err.value.errors) == {"next_billing_on", "amount", "next_renewal_on"}
    with pytest.raises(ValidationFailed) as err:
        services.update(sub, actor="t", next_billing_on=date(2024, 3, 1), at=jst(2024, 2, 1))
    assert err.value.errors == {"next_billing_on": "この日付の課金は既にあります。別の日付を指定してください。"}
    sub.refresh_from_db()
    assert (sub.amount, sub.next_billing_on) == (3240, date(2024, 4, 1))


def test_renewal_date_moves_on_by_its_interval(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 1, 31), renewal_months=6)
    assert sub.next_renewal_on == date(2024, 7, 31)
    for day in (date(2024, 1, 31), date(2024, 2, 29), date(2024, 7, 31), date(2024, 8, 31)):
        services.run_due(jst(day.year, day.month, day.day))
    sub.refresh_from_db()
    assert sub.next_renewal_on == date(2025, 1, 31)


def test_a_claim_left_by_a_dead_worker_is_charged_after_the_lease(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 1))
    now = jst(2024, 3, 1, 9)
    # The worker claimed the cycle (cycle, order and payment committed) and died before charging it.
    [cycle_id] = services._claim_due(now.date(), now, 10, services.RunResult())
    assert fake_ledger.calls["charge"] == 0

    assert services.run_due(now + timedelta(minutes=1)).as_dict() == {"charged": 0, "failed": 0, "skipped": 0}
    assert fake_ledger.calls["charge"] == 0  # still within the lease: the claimant may be alive

    result = services.run_due(now + services.CLAIM_LEASE + timedelta(seconds=1))
    assert result.as_dict() == {"charged": 1, "failed": 0, "skipped": 0}
    assert fake_ledger.calls["charge"] == 1
    assert SubscriptionCycle.objects.get(pk=cycle_id).status == CycleStatus.CHARGED
    assert sub.cycles.count() == 1


def test_a_lost_answer_with_a_provider_id_is_settled_by_refresh_not_recharged(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 1))
    now = jst(2024, 3, 1, 9)
    with time_machine.travel(now, tick=False):
        fake_ledger.script.append("lost")
        services.run_due(now)
    cycle = SubscriptionCycle.objects.get(subscription=sub)
    [tx] = fake_ledger.txs.values()
    # The provider id reached us another way (the 決済Webhook): refresh can now ask about it.
    Payment.objects.filter(pk=cycle.payment_id).update(provider_ref=tx.ref)

    later = now + services.CLAIM_LEASE + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        result = services.run_due(later)

    assert result.as_dict() == {"charged": 1, "failed": 0, "skipped": 0}
    assert fake_ledger.calls["charge"] == 1
    assert fake_ledger.calls["fetch"] == 1
    cycle.refresh_from_db()
    assert (cycle.status, cycle.payment.state) == (CycleStatus.CHARGED, "authorized")


def test_a_lost_answer_without_an_id_is_never_resent_to_a_provider_without_key_checks(fake_ledger):
    shop, method = shop_with_method()
    sub = subscription(shop, method, first=date(2024, 3, 1))
    now = jst(2024, 3, 1, 9)
    fake_ledger.script.append("lost")
    services.run_due(now)
    later = now + services.CLAIM_LEASE * 3
    with time_machine.travel(later, tick=False):
        result = services.run_due(later)
    assert result.as_dict() == {"charged": 0, "failed": 0, "skipped": 1}
    assert fake_ledger.calls["charge"] == 1
    cycle = SubscriptionCycle.objects.get(subscription=sub)
    assert cycle.status == CycleStatus.SCHEDULED
    assert Operation.objects.filter(payment=cycle.payment, kind="charge").count() == 1


def test_run_due_command_prints_exactly_the_counts(fake_ledger):
    shop, method = shop_with_method()
    subscription(shop, method, first=date(2024, 3, 1))
    subscription(shop, method, first=date(2024, 3, 1), member_no="2")
    fake_ledger.script.extend(["ok", "decline"])
    out = StringIO()
    call_command("billing", "run-due", "--at", "2024-03-01T10:00:00", "--json", stdout=out)
    assert out.getvalue().strip() == '{"charged": 1, "failed": 1, "skipped": 0}'
    assert json.loads(out.getvalue()) == {"charged": 1, "failed": 1, "skipped": 0}


def test_run_due_command_reads_an_offset_free_time_as_jst(fake_ledger):
    shop, method = shop_with_method()
    subscription(shop, method, first=date(2024, 3, 1))
    out = StringIO()
    call_command("billing", "run-due", "--at", "2024-03-01T00:30", "--json", stdout=out)
    assert json.loads(out.getvalue())["charged"] == 1


def test_subscriptions_of_a_shop_are_charged_with_its_own_account(fake_ledger):
    shop_a, method_a = shop_with_method(name="A")
    shop_b, method_b = shop_with_method(name="B")
    sub_a = subscription(shop_a, method_a, first=date(2024, 3, 1))
    sub_b = subscription(shop_b, method_b, first=date(2024, 3, 1))
    services.run_due(jst(2024, 3, 1))
    for sub, method in ((sub_a, method_a), (sub_b, method_b)):
        payment = SubscriptionCycle.objects.get(subscription=sub).payment
        assert (payment.shop_id, payment.account_id) == (sub.shop_id, method.provider_account_id)


def test_timezone_now_is_used_when_no_time_is_given(fake_ledger):
    shop, method = shop_with_method()
    subscription(shop, method, first=date(2024, 3, 1))
    with time_machine.travel(jst(2024, 3, 1, 10), tick=False):
        assert timezone.now() == jst(2024, 3, 1, 10)
        assert services.run_due().charged == 1


def test_the_worker_scheduler_runs_the_due_pass(fake_ledger):
    from kessai.billing import tasks
    from kessai.common import scheduler

    [job] = [j for j in scheduler.JOBS if j.name == "billing-run-due"]
    assert job.load() is tasks.run_due_cycles
    shop, method = shop_with_method()
    subscription(shop, method, first=date(2024, 3, 1))
    with time_machine.travel(jst(2024, 3, 1, 3), tick=False):
        assert job.load()() == {"charged": 1, "failed": 0, "skipped": 0}


def test_rotating_keys_re_encrypts_tokens(fake_ledger, settings):
    from kessai.shops.keyring import KeyRing

    shop, method = shop_with_method()
    sub = subscription(shop, method)
    old_ring = settings.KESSAI_SECRET_KEYS
    settings.KESSAI_SECRET_KEYS = f"new1:{KeyRing.generate_key()},{old_ring}"
    assert services.rotate_token_encryption() == (1, 1)
    sub.refresh_from_db()
    assert sub.token_encrypted.startswith("v1:new1:")
    assert services.buyer_token(sub) == "tk_fake_buyer_token_0001"
    assert services.rotate_token_encryption() == (0, 1)


# --------------------------------------------------------------------------- a stop request (SIGTERM) mid-pass


@pytest.fixture
def stop_after_charges(monkeypatch):
    """Requests a stop (what SIGTERM does in ``kessai worker`` / ``kessai billing run-due``) after N charges."""
    from kessai.common import scheduler

    def arm(n: int) -> None:
        original = services._charge_claimed
        done = []

        def charging(*args, **kwargs):
            original(*args, **kwargs)
            done.append(1)
            if len(done) == n:
                scheduler.request_stop()

        monkeypatch.setattr(services, "_charge_claimed", charging)

    yield arm
    scheduler.clear_stop()


def test_a_stop_request_hands_back_the_claimed_cycles_and_the_next_pass_charges_them_at_once(
    fake_ledger, stop_after_charges
):
    from kessai.common import scheduler

    shop, method = shop_with_method()
    subs = [subscription(shop, method, first=date(2024, 3, 1), member_no=str(n)) for n in range(5)]
    stop_after_charges(2)

    cut = services.run_due(jst(2024, 3, 1, 9, 0), batch_size=10)

    assert cut.as_dict() == {"charged": 2, "failed": 0, "skipped": 0}
    assert fake_ledger.calls["charge"] == 2
    handed = SubscriptionCycle.objects.filter(status=CycleStatus.SCHEDULED)
    assert handed.count() == 3
    assert all(c.claimed_at < jst(2024, 3, 1, 9, 0) - services.CLAIM_LEASE for c in handed)
    assert not Operation.objects.filter(payment_id__in=handed.values("payment_id")).exists()  # never sent

    scheduler.clear_stop()
    # one minute later, well within the claim lease: charged now, each once
    rest = services.run_due(jst(2024, 3, 1, 9, 1), batch_size=10)

    assert rest.as_dict() == {"charged": 3, "failed": 0, "skipped": 0}
    assert fake_ledger.calls["charge"] == 5
    assert sorted(tx.shop_transaction_no for tx in fake_ledger.txs.values()) == sorted(
        f"SUB-{s.key}-20240301" for s in subs
    )
    assert set(SubscriptionCycle.objects.values_list("status", flat=True)) == {CycleStatus.CHARGED}


def test_run_due_command_stopped_prints_the_counts_so_far_and_exits_143(fake_ledger, stop_after_charges):
    shop, method = shop_with_method()
    for n in range(3):
        subscription(shop, method, first=date(2024, 3, 1), member_no=str(n))
    stop_after_charges(1)
    out, err = StringIO(), StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("billing", "run-due", "--at", "2024-03-01T10:00:00", "--json", stdout=out, stderr=err)

    assert exited.value.code == 143
    assert json.loads(out.getvalue()) == {"charged": 1, "failed": 0, "skipped": 0}
    assert "停止要求により課金処理を途中で終了しました" in err.getvalue()
