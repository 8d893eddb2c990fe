"""継続課金 use cases: create, stop / resume / update, charge now, 再決済, and the due run.

How a cycle is charged at most once, whatever crashes (invariant 3; the full argument is in
docs/billing.md):

1. **claim** — one short transaction: lock the due subscription (``FOR UPDATE SKIP LOCKED``; SQLite's
   IMMEDIATE transactions serialise instead), insert the cycle row (``(subscription, cycle_date)`` is
   UNIQUE — the guard), its order and its payment with ``shop_transaction_no = SUB-<id>-<YYYYMMDD>``,
   and move 次回課金日 on. Committed before any provider call.
2. **charge** through :func:`kessai.payments.services.charge_with_token` (pending operation committed,
   call, completion) — the payment row lock and state machine refuse a second charge of that payment.
3. **settle** the cycle from the payment's state: 課金済み / 決済エラー, or left 予定 while the outcome
   is unknown.

A restarted worker never charges a claimed cycle again; it *recovers* cycles whose claim is older than
the lease: a payment that never got an operation is charged (no call was made), a payment with a
provider id is refreshed, and one without (the answer was lost) is re-sent with the same key only to
providers that refuse duplicate keys (:data:`KEYED_CREATE_PROVIDERS`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kessai.billing.dates import MAX_FIXED_BILLING_DAY, jst_date, next_billing_date
from kessai.billing.models import (
    BillingSettings,
    CycleStatus,
    Subscription,
    SubscriptionCycle,
    SubscriptionStatus,
    Trigger,
)
from kessai.common import scheduler
from kessai.payments import services as payment_services
from kessai.payments.gateway import provider_for
from kessai.payments.models import CaptureMode, Order, Payment
from kessai.payments.money import MAX_AMOUNT
from kessai.payments.orders import _customer, _Errors, check_amount, clean_items, create_order, validated_order
from kessai.payments.state import InvalidTransition, PaymentState
from kessai.providers.base import ProviderError
from kessai.shops.errors import ValidationFailed
from kessai.shops.keyring import ring_from_settings
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop

log = logging.getLogger(__name__)

S = PaymentState

# Providers that refuse a second transaction with the same shop_transaction_no (atone: the emulator and,
# per protocol note §7, atone itself). Only for them is a charge whose answer was lost re-sent.
KEYED_CREATE_PROVIDERS = frozenset({"atone"})

# A claimed cycle whose worker has not settled it within this time is presumed abandoned (the worker
# died) and is recovered. The same span after which services treat a pending operation as stale.
CLAIM_LEASE = payment_services.STALE_PENDING_AFTER

SCHEDULER_ACTOR = "scheduler"

MAX_MONTHS = 120


# --------------------------------------------------------------------------- results


@dataclass
class RunResult:
    """What one pass did: cycles charged (課金済み), failed (決済エラー), and skipped — due cycles this pass
    neither charged nor failed (missed dates recorded スキップ, outcomes still unknown)."""

    charged: int = 0
    failed: int = 0
    skipped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, outcome: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + n)

    def as_dict(self) -> dict[str, int]:
        return {"charged": self.charged, "failed": self.failed, "skipped": self.skipped}


# --------------------------------------------------------------------------- the buyer token


def seal_token(subscription: Subscription, token: str) -> None:
    """Encrypt the buyer's provider token onto the row (credentials-like: AES-GCM, AAD = this row)."""
    subscription.token_encrypted = ring_from_settings().encrypt(token.encode(), aad=subscription.aad)


def buyer_token(subscription: Subscription) -> str:
    return ring_from_settings().decrypt(subscription.token_encrypted, aad=subscription.aad).decode()


def rotate_token_encryption() -> tuple[int, int]:
    """Re-encrypt every token under the ring's first key (run with ``kessai rotate-keys``): (rotated, total)."""
    ring = ring_from_settings()
    rotated = total = 0
    for sub in Subscription.objects.only("id", "token_encrypted").iterator():
        total += 1
        if ring.needs_rotation(sub.token_encrypted):
            plain = ring.decrypt(sub.token_encrypted, aad=sub.aad)
            Subscription.objects.filter(pk=sub.pk).update(token_encrypted=ring.encrypt(plain, aad=sub.aad))
            rotated += 1
    return rotated, total


# --------------------------------------------------------------------------- schedule helpers


def _next_billing(sub: Subscription, previous: date) -> date:
    return next_billing_date(previous, interval_months=sub.interval_months, billing_day=sub.billing_day)


def _next_renewal(sub: Subscription, previous: date) -> date:
    assert sub.renewal_interval_months  # noqa: S101 - callers check
    assert sub.renewal_day  # noqa: S101
    return next_billing_date(previous, interval_months=sub.renewal_interval_months, billing_day=sub.renewal_day)


def _roll_renewal(sub: Subscription, today: date) -> None:
    """次回契約更新日 moves on by the renewal interval once it has passed."""
    if sub.next_renewal_on is None or not sub.renewal_interval_months or not sub.renewal_day:
        return
    while sub.next_renewal_on <= today:
        sub.next_renewal_on = _next_renewal(sub, sub.next_renewal_on)


def transaction_no(sub: Subscription, cycle_date: date, attempt: int = 1) -> str:
    """The provider key of one charge attempt: ``SUB-<subscription id>-<YYYYMMDD>`` (first attempt),
    ``…-R2``, ``…-R3`` for 再決済. Derived only from (subscription, cycle date, attempt)."""
    base = f"SUB-{sub.key}-{cycle_date:%Y%m%d}"
    return base if attempt == 1 else f"{base}-R{attempt}"


def _capture_mode(account: ProviderAccount) -> str:
    """自動継続課金処理区分: the account's ``recurring_capture`` (仮売上 unless set to 即時売上確定)."""
    mode = account.option("recurring_capture", CaptureMode.MANUAL)
    return mode if mode in (CaptureMode.MANUAL, CaptureMode.IMMEDIATE) else CaptureMode.MANUAL


def billing_settings(shop: Shop) -> BillingSettings:
    found = BillingSettings.objects.filter(shop=shop).first()
    return found if found is not None else BillingSettings(shop=shop)


# --------------------------------------------------------------------------- validation


def _check_schedule(
    errors: _Errors, interval_months: int, billing_day: int | None, renewal_interval_months: int | None
) -> None:
    if not 1 <= interval_months <= MAX_MONTHS:
        errors.add("interval_months", _("課金間隔は1〜%(max)sか月で指定してください。") % {"max": MAX_MONTHS})
    if billing_day is not None and not 1 <= billing_day <= MAX_FIXED_BILLING_DAY:
        errors.add("billing_day", _("課金日は1〜28日で指定してください。"))
    if renewal_interval_months is not None and not 1 <= renewal_interval_months <= MAX_MONTHS:
        errors.add(
            "renewal_interval_months", _("契約更新間隔は1〜%(max)sか月で指定してください。") % {"max": MAX_MONTHS}
        )


def _check_token(errors: _Errors, account: ProviderAccount, token: str) -> None:
    if not token.strip():
        errors.add("token", _("購入者の決済認証トークンがありません。"), "required")
    elif not provider_for(account).capabilities.tokens:
        errors.add("account", _("この決済会社は継続課金に対応していません。"), "tokens_unsupported")


# --------------------------------------------------------------------------- creating subscriptions


def create_subscription(
    shop: Shop,
    *,
    payment_method: str,
    token: str,
    customer: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    amount: int,
    first_billing_on: date,
    interval_months: int = 1,
    billing_day: int | None = None,
    renewal_interval_months: int | None = None,
    member_no: str = "",
    order_no: str = "",
    applied_at: datetime | None = None,
    actor: str = "",
) -> Subscription:
    """A subscription registered by the API (or staff) with a buyer token obtained earlier. Nothing is
    charged now: the first cycle is ``first_billing_on`` and the due run charges it.

    ``billing_day`` None keeps the day of ``first_billing_on`` (申込日基準, month ends clamped)."""
    errors = _Errors()
    method = (
        PaymentMethod.objects.select_related("provider_account")
        .filter(shop=shop)
        .filter(Q(pk=payment_method) | Q(code=payment_method))
        .first()
    )
    if method is None:
        errors.add("payment_method", _("指定された支払方法は利用できません。"), "unknown_payment_method")
    cleaned_customer = _customer(errors, customer)
    cleaned_items = clean_items(list(items), errors)
    check_amount(errors, amount, cleaned_items)
    _check_schedule(errors, interval_months, billing_day, renewal_interval_months)
    if method is not None:
        _check_token(errors, method.provider_account, token)
    if len(member_no) > 40:
        errors.add("member_no", _("会員Noは40文字以内で入力してください。"), "too_long")
    errors.raise_if_any()
    assert method is not None  # noqa: S101 - checked above
    with transaction.atomic():
        sub = Subscription(
            shop=shop,
            account=method.provider_account,
            payment_method=method,
            member_no=member_no,
            customer=cleaned_customer,
            customer_name=cleaned_customer["name"],
            customer_email=cleaned_customer["email"].lower(),
            items=cleaned_items,
            amount=amount,
            initial_amount=amount,
            interval_months=interval_months,
            billing_day=billing_day or first_billing_on.day,
            renewal_interval_months=renewal_interval_months,
            renewal_day=first_billing_on.day if renewal_interval_months else None,
            applied_at=applied_at or timezone.now(),
            first_billing_on=first_billing_on,
            next_billing_on=first_billing_on,
        )
        sub.order_no = order_no or f"SUB-{sub.key}"
        if renewal_interval_months:
            sub.next_renewal_on = _next_renewal(sub, first_billing_on)
        seal_token(sub, token)
        sub.save(force_insert=True)
    log.info("subscription %s created by %s", sub.pk, actor or "-")
    return sub


def create_from_payment(
    payment: Payment,
    *,
    interval_months: int = 1,
    billing_day: int | None = None,
    renewal_interval_months: int | None = None,
    member_no: str = "",
    actor: str = "",
) -> Subscription:
    """A subscription from a first checkout: the buyer's token (``payment.buyer_token``, stored by the
    authenticated callback or the 認証Webhook), the order's customer and lines. The first checkout is the
    first cycle (初回課金日 = the day it was paid, JST), recorded as 課金済み with that payment."""
    errors = _Errors()
    if payment.state not in (S.AUTHORIZED, S.CAPTURED):
        errors.add("payment", _("与信が完了した決済からのみ継続課金を登録できます。"), "payment_not_authorized")
    _check_token(errors, payment.account, payment.buyer_token)
    _check_schedule(errors, interval_months, billing_day, renewal_interval_months)
    if Subscription.objects.filter(origin_payment=payment).exists():
        errors.add("payment", _("この決済から既に継続課金が登録されています。"), "duplicate_subscription")
    errors.raise_if_any()
    order = payment.order
    first = jst_date(payment.created_at)
    with transaction.atomic():
        sub = Subscription(
            shop_id=payment.shop_id,
            account=payment.account,
            payment_method_id=payment.payment_method_id,
            origin_payment=payment,
            order_no=order.shop_order_no,
            member_no=member_no,
            customer=dict(order.customer),
            customer_name=order.customer_name,
            customer_email=order.customer_email,
            items=list(order.items),
            amount=payment.amount,
            initial_amount=payment.amount,
            interval_months=interval_months,
            billing_day=billing_day or first.day,
            renewal_interval_months=renewal_interval_months,
            renewal_day=first.day if renewal_interval_months else None,
            applied_at=order.created_at,
            first_billing_on=first,
        )
        sub.next_billing_on = _next_billing(sub, first)
        if renewal_interval_months:
            sub.next_renewal_on = _next_renewal(sub, first)
        seal_token(sub, payment.buyer_token)
        sub.save(force_insert=True)
        SubscriptionCycle.objects.create(
            shop_id=sub.shop_id,
            subscription=sub,
            cycle_date=first,
            status=CycleStatus.CHARGED,
            amount=payment.amount,
            order=order,
            payment=payment,
            attempts=1,
            trigger=Trigger.CHECKOUT,
            charged_at=payment.created_at,
        )
    log.info("subscription %s created from payment %s by %s", sub.pk, payment.pk, actor or "-")
    return sub


# --------------------------------------------------------------------------- staff / API changes


def _locked(sub: Subscription) -> Subscription:
    return Subscription.objects.select_for_update().get(pk=sub.pk)


def stop(sub: Subscription, *, actor: str) -> Subscription:
    """契約 → 停止: no cycle is claimed while stopped (a cycle already claimed still completes)."""
    with transaction.atomic():
        locked = _locked(sub)
        if locked.status != SubscriptionStatus.STOPPED:
            locked.status = SubscriptionStatus.STOPPED
            locked.stopped_at = timezone.now()
            locked.save(update_fields=["status", "stopped_at", "updated_at"])
    log.info("subscription %s stopped by %s", sub.pk, actor)
    return locked


def resume(sub: Subscription, *, actor: str, at: datetime | None = None) -> Subscription:
    """契約 → 継続中. Billing dates that passed while stopped are recorded スキップ (not charged); the next
    charge is the first scheduled date from today on."""
    today = jst_date(at or timezone.now())
    with transaction.atomic():
        locked = _locked(sub)
        if locked.status == SubscriptionStatus.ACTIVE:
            return locked
        missed: list[date] = []
        next_on = locked.next_billing_on
        while next_on is not None and next_on < today:
            missed.append(next_on)
            next_on = _next_billing(locked, next_on)
        _record_skipped(locked, missed, _("停止中のため課金しませんでした。"))
        locked.next_billing_on = next_on
        _roll_renewal(locked, today - timedelta(days=1))
        locked.status = SubscriptionStatus.ACTIVE
        locked.stopped_at = None
        locked.save()
    log.info("subscription %s resumed by %s (skipped %d dates)", sub.pk, actor, len(missed))
    return locked


def _record_skipped(sub: Subscription, dates: Iterable[date], reason: str) -> int:
    existing = set(
        SubscriptionCycle.objects.filter(subscription=sub, cycle_date__in=list(dates)).values_list(
            "cycle_date", flat=True
        )
    )
    rows = [
        SubscriptionCycle(
            shop_id=sub.shop_id,
            subscription=sub,
            cycle_date=d,
            status=CycleStatus.SKIPPED,
            amount=sub.amount,
            message=reason,
        )
        for d in dates
        if d not in existing
    ]
    SubscriptionCycle.objects.bulk_create(rows)
    return len(rows)


def update(
    sub: Subscription,
    *,
    actor: str,
    next_billing_on: date | None = None,
    next_renewal_on: date | None = None,
    amount: int | None = None,
    items: Sequence[Mapping[str, Any]] | None = None,
    at: datetime | None = None,
) -> Subscription:
    """継続課金会員情報の更新: 次回課金日, 次回契約更新日, 決済金額 (future charges only; a charge already
    made is changed on its payment — 取引修正). Without ``items`` a new amount becomes one line."""
    today = jst_date(at or timezone.now())
    errors = _Errors()
    new_items: list[dict[str, Any]] | None = None
    if amount is not None:
        if items is not None:
            new_items = clean_items(list(items), errors)
        else:
            name = str(sub.items[0]["name"]) if sub.items else _("継続課金")
            new_items = [{"sku": "SUB", "name": name, "unit_price": amount, "quantity": 1}]
        if not 1 <= amount <= MAX_AMOUNT:
            errors.add("amount", _("決済金額は1〜%(max)s円の範囲で入力してください。") % {"max": f"{MAX_AMOUNT:,}"})
        else:
            check_amount(errors, amount, new_items)
    if next_billing_on is not None:
        if next_billing_on < today:
            errors.add("next_billing_on", _("次回課金日は今日以降の日付を指定してください。"), "past_date")
        elif SubscriptionCycle.objects.filter(subscription=sub, cycle_date=next_billing_on).exists():
            errors.add("next_billing_on", _("この日付の課金は既にあります。別の日付を指定してください。"), "duplicate")
    if next_renewal_on is not None and next_renewal_on < today:
        errors.add("next_renewal_on", _("次回契約更新日は今日以降の日付を指定してください。"), "past_date")
    errors.raise_if_any()
    with transaction.atomic():
        locked = _locked(sub)
        if next_billing_on is not None:
            locked.next_billing_on = next_billing_on
        if next_renewal_on is not None:
            locked.next_renewal_on = next_renewal_on
            if not locked.renewal_interval_months:
                locked.renewal_interval_months = 12
            locked.renewal_day = next_renewal_on.day
        if amount is not None and new_items is not None:
            locked.amount = amount
            locked.items = new_items
        locked.save()
    log.info("subscription %s updated by %s", sub.pk, actor)
    return locked


# --------------------------------------------------------------------------- claiming and charging


def _open_cycle(sub: Subscription, cycle_date: date, trigger: str, now: datetime) -> SubscriptionCycle:
    """Inside the claim transaction: the cycle row first (its unique key is the guard), then its order and
    the first attempt's payment. Raises IntegrityError if the cycle exists."""
    cycle = SubscriptionCycle.objects.create(
        shop_id=sub.shop_id,
        subscription=sub,
        cycle_date=cycle_date,
        amount=sub.amount,
        trigger=trigger,
        claimed_at=now,
    )
    order = create_order(sub.shop, _cycle_order_data(sub, cycle_date))
    cycle.order = order
    _new_attempt(cycle, sub, order)
    return cycle


def _cycle_order_data(sub: Subscription, cycle_date: date) -> dict[str, Any]:
    """The order of a cycle, as a cart would send it: number = the cycle key, the subscription's lines."""
    return {
        "shop_order_no": transaction_no(sub, cycle_date),
        "amount": sub.amount,
        "items": sub.items,
        "customer": sub.customer,
        "destinations": [],
    }


def _attempt_payment(sub: Subscription, order: Order, cycle_date: date, *, attempt: int, amount: int) -> Payment:
    """The (unsaved) payment of one charge attempt of a cycle, keyed ``SUB-<id>-<YYYYMMDD>[-R<n>]``."""
    return Payment(
        shop_id=sub.shop_id,
        order=order,
        payment_method_id=sub.payment_method_id,
        account=sub.account,
        provider=sub.account.provider,
        shop_transaction_no=transaction_no(sub, cycle_date, attempt),
        amount=amount,
        capture_mode=_capture_mode(sub.account),
    )


def _new_attempt(cycle: SubscriptionCycle, sub: Subscription, order: Order) -> Payment:
    cycle.attempts += 1
    payment = _attempt_payment(sub, order, cycle.cycle_date, attempt=cycle.attempts, amount=cycle.amount)
    payment.save(force_insert=True)
    cycle.payment = payment
    cycle.save()
    return payment


def _due_dates(sub: Subscription, today: date) -> tuple[list[date], date]:
    """The date to charge now and the dates before it that the run missed (recorded スキップ: one
    charge per run, never a pile of back charges after an outage)."""
    assert sub.next_billing_on is not None  # noqa: S101 - the due filter guarantees it
    current = sub.next_billing_on
    missed: list[date] = []
    while (following := _next_billing(sub, current)) <= today:
        missed.append(current)
        current = following
    return missed, current


@dataclass(frozen=True)
class Claimed:
    """A cycle claimed (committed) by this worker, with what charging it needs, so the charge does not read it
    back: the attempt's payment (re-read and locked by the payment services before anything is sent) and the
    subscription (its sealed token; its account's options for the completion mail)."""

    cycle_id: str
    payment: Payment
    subscription: Subscription


def _claim_due(today: date, now: datetime, batch_size: int, result: RunResult) -> list[str]:
    """Claim up to ``batch_size`` due subscriptions: their cycles, orders and payments are committed here.
    Returns the claimed cycles' ids."""
    return [c.cycle_id for c in _claim_due_batch(today, now, batch_size, result)]


def due_subscriptions(today: date, batch_size: int) -> QuerySet[Subscription]:
    """The next batch of due subscriptions, locked (``SKIP LOCKED``: another worker's batch is passed over), in
    (次回課金日, id) order — the order of the ``subscription_due_order`` index, so PostgreSQL reads just the batch
    instead of sorting every due row (tests/billing/test_postgres.py checks the plan). Inside a transaction."""
    return (
        Subscription.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("account", "shop")
        .filter(status=SubscriptionStatus.ACTIVE, next_billing_on__lte=today)
        .order_by("next_billing_on", "id")[:batch_size]
    )


def _claim_due_batch(today: date, now: datetime, batch_size: int, result: RunResult) -> list[Claimed]:
    """One claim transaction, set-based: lock the batch (``SKIP LOCKED``), then insert its cycles, orders and
    payments with one statement each and move every 次回課金日 on with one more — a constant number of statements
    per batch instead of nine per subscription.

    The guards are the same as one subscription at a time: the subscription rows stay locked until the commit,
    a cycle that exists already is never opened again (checked first, and the ``(subscription, cycle_date)``
    UNIQUE constraint still refuses it: then the batch falls back to :func:`_claim_one` per subscription, each in
    its own savepoint), and nothing is sent to a provider before the commit."""
    claimed: list[Claimed] = []
    with transaction.atomic():
        subs = list(due_subscriptions(today, batch_size))
        if not subs:
            return claimed
        plans = [(sub, *_due_dates(sub, today)) for sub in subs]
        simple = [(sub, cycle_date) for sub, missed, cycle_date in plans if not missed]
        opened = _open_cycles(simple, now) if simple else None
        if opened is None:  # a batch insert was refused (or dates were missed): one subscription at a time
            claimed = [
                c for sub, missed, cycle_date in plans if (c := _claim_one(sub, missed, cycle_date, now, result))
            ]
        else:
            claimed = list(opened)
            opened_subs = {sub.pk for sub, _cycle_date in simple}
            for sub, missed, cycle_date in plans:
                if sub.pk not in opened_subs and (c := _claim_one(sub, missed, cycle_date, now, result)):
                    claimed.append(c)
        # 次回課金日 (and 次回契約更新日) move on: one UPDATE per distinct pair of new dates — usually one or two per
        # batch, as due subscriptions share their billing day (cheaper than bulk_update's CASE per row).
        moved: dict[tuple[date | None, date | None], list[str]] = {}
        for sub, _missed, cycle_date in plans:
            sub.next_billing_on = _next_billing(sub, cycle_date)
            _roll_renewal(sub, today)
            moved.setdefault((sub.next_billing_on, sub.next_renewal_on), []).append(sub.pk)
        stamp = timezone.now()
        for (next_billing_on, next_renewal_on), ids in moved.items():
            Subscription.objects.filter(pk__in=ids).update(
                next_billing_on=next_billing_on, next_renewal_on=next_renewal_on, updated_at=stamp
            )
    return claimed


def _claim_one(
    sub: Subscription, missed: list[date], cycle_date: date, now: datetime, result: RunResult
) -> Claimed | None:
    """One subscription's cycle, in its own savepoint (missed dates recorded スキップ first)."""
    try:
        with transaction.atomic():
            result.add("skipped", _record_skipped(sub, missed, _("課金処理が実行されなかった課金日です。")))
            cycle = _open_cycle(sub, cycle_date, Trigger.SCHEDULE, now)
    except IntegrityError:
        # The cycle already exists (a date set back by hand): never charge it twice.
        log.warning("cycle %s@%s exists; not charged again", sub.pk, cycle_date)
        return None
    except ValidationFailed as exc:
        log.error("subscription %s: cannot create the cycle order: %s", sub.pk, exc)
        return None
    assert cycle.payment is not None  # noqa: S101 - _open_cycle made the first attempt
    return Claimed(cycle.pk, cycle.payment, sub)


def _open_cycles(due: list[tuple[Subscription, date]], now: datetime) -> list[Claimed] | None:
    """Inside the claim transaction: the cycles of ``due`` (subscription, date), their orders and first attempts'
    payments, one INSERT per table (cycles first: their UNIQUE key is the guard; the foreign keys are checked at
    commit). A subscription whose cycle exists already, or whose order does not validate, gets no cycle (as in
    :func:`_claim_one`). Returns None when an insert is refused: the savepoint is rolled back and the caller
    claims one subscription at a time."""
    existing = set(
        SubscriptionCycle.objects.filter(
            subscription_id__in=[sub.pk for sub, _d in due], cycle_date__in=sorted({d for _s, d in due})
        ).values_list("subscription_id", "cycle_date")
    )
    cycles: list[SubscriptionCycle] = []
    orders: list[Order] = []
    payments: list[Payment] = []
    claimed: list[Claimed] = []
    for sub, cycle_date in due:
        if (sub.pk, cycle_date) in existing:
            log.warning("cycle %s@%s exists; not charged again", sub.pk, cycle_date)
            continue
        try:
            order = validated_order(sub.shop, _cycle_order_data(sub, cycle_date))
        except ValidationFailed as exc:
            log.error("subscription %s: cannot create the cycle order: %s", sub.pk, exc)
            continue
        payment = _attempt_payment(sub, order, cycle_date, attempt=1, amount=sub.amount)
        cycle = SubscriptionCycle(
            shop_id=sub.shop_id,
            subscription=sub,
            cycle_date=cycle_date,
            amount=sub.amount,
            trigger=Trigger.SCHEDULE,
            claimed_at=now,
            order=order,
            payment=payment,
            attempts=1,
        )
        cycles.append(cycle)
        orders.append(order)
        payments.append(payment)
        claimed.append(Claimed(cycle.pk, payment, sub))
    try:
        with transaction.atomic():
            SubscriptionCycle.objects.bulk_create(cycles)
            Order.objects.bulk_create(orders)
            Payment.objects.bulk_create(payments)
    except IntegrityError:
        log.warning("claim batch refused by a unique key; claiming its subscriptions one at a time")
        return None
    return claimed


def _claim_retries(today: date, now: datetime, batch_size: int) -> list[str]:
    """自動再決済: failed cycles whose retry day has come, on shops that enabled it."""
    claimed: list[str] = []
    with transaction.atomic():
        cycles = list(
            SubscriptionCycle.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription__account", "payment")
            .filter(
                status=CycleStatus.FAILED,
                next_retry_on__lte=today,
                subscription__status=SubscriptionStatus.ACTIVE,
            )
            .order_by("next_retry_on", "id")[:batch_size]
        )
        for cycle in cycles:
            if not _retryable(cycle):
                cycle.next_retry_on = None
                cycle.save(update_fields=["next_retry_on", "updated_at"])
                continue
            _start_retry(cycle, Trigger.AUTO_RETRY, now)
            claimed.append(cycle.pk)
    return claimed


def _retryable(cycle: SubscriptionCycle) -> bool:
    """再決済 only after a definite failure: declined, or refused by the provider before anything happened.
    Never after an unknown outcome (that could charge twice) nor after a cancelled charge."""
    payment = cycle.payment
    if cycle.status != CycleStatus.FAILED or payment is None:
        return False
    return (
        payment.state in (S.DECLINED, S.CREATED)
        and not payment.operations.filter(result__in=["pending", "unknown"]).exists()
    )


def _start_retry(cycle: SubscriptionCycle, trigger: str, now: datetime) -> None:
    sub = cycle.subscription
    order = cycle.order
    assert order is not None  # noqa: S101 - every charged-at cycle has its order
    cycle.amount = sub.amount
    cycle.status = CycleStatus.SCHEDULED
    cycle.trigger = trigger
    cycle.claimed_at = now
    cycle.next_retry_on = None
    if order.amount != sub.amount:
        Order.objects.filter(pk=order.pk).update(amount=sub.amount, items=sub.items)
    _new_attempt(cycle, sub, order)


def _charge_payment(cycle_id: str, payment: Payment, sub: Subscription, actor: str) -> Payment | None:
    """Charge the attempt through the payment services; the payment as completed, or None when the call failed
    or was refused (its outcome is then read back by :func:`_settle`)."""
    try:
        return payment_services.charge_with_token(payment, token=buyer_token(sub), actor=actor)
    except ProviderError as exc:  # recorded on the payment (operation, 決済エラーログ) by the service
        log.info("cycle %s: charge failed: %s %s", cycle_id, exc.code, exc.message)
    except InvalidTransition as exc:  # another worker got there first: its result stands
        log.warning("cycle %s: not charged: %s", cycle_id, exc.message)
    return None


_CHARGED_STATES = (S.AUTHORIZED, S.CAPTURED, S.CANCELLED)


def _settle_charged(cycle_id: str, paid: Payment, sub: Subscription) -> bool:
    """The common case in one statement: the charge just completed (``paid``, as committed under the payment's
    lock) and the cycle is still 予定 with that payment as its attempt → 課金済み. False when the cycle moved
    meanwhile (then :func:`_settle` decides under the cycle's lock)."""
    if paid.state not in _CHARGED_STATES:
        return False
    updated = SubscriptionCycle.objects.filter(pk=cycle_id, status=CycleStatus.SCHEDULED, payment_id=paid.pk).update(
        status=CycleStatus.CHARGED,
        charged_at=timezone.now(),
        message="",
        subscriber_notified=not bool(sub.account.option("recurring_result_mail", False)),
        admin_notified=False,
        updated_at=timezone.now(),
    )
    return updated == 1


def _settle(cycle_id: str, today: date) -> str:
    """Move the cycle to the payment's outcome. Returns "charged", "failed" or "skipped" (unknown yet)."""
    with transaction.atomic():
        cycle = (
            SubscriptionCycle.objects.select_for_update(of=("self",))
            .select_related("payment", "subscription__account")
            .get(pk=cycle_id)
        )
        payment = cycle.payment
        if cycle.status != CycleStatus.SCHEDULED or payment is None:
            return "skipped"
        state = payment.state
        if state in _CHARGED_STATES:
            cycle.status = CycleStatus.CHARGED
            cycle.charged_at = timezone.now()
            cycle.message = ""
            cycle.subscriber_notified = not bool(cycle.subscription.account.option("recurring_result_mail", False))
        elif state == S.DECLINED or (state == S.CREATED and payment.operations.exists()):
            cycle.status = CycleStatus.FAILED
            cycle.message = _failure_reason(payment)
            cycle.next_retry_on = _next_retry_on(cycle, today)
        else:
            return "skipped"
        cycle.admin_notified = False
        cycle.save()
        return "charged" if cycle.status == CycleStatus.CHARGED else "failed"


def _failure_reason(payment: Payment) -> str:
    if payment.decline_message:
        return payment.decline_message[:500]
    last = payment.operations.exclude(message="").order_by("-created_at", "-id").first()
    return (last.message if last else _("決済エラー"))[:500]


def _next_retry_on(cycle: SubscriptionCycle, today: date) -> date | None:
    settings_ = billing_settings(cycle.subscription.shop)
    if not settings_.auto_retry:
        return None
    days = sorted(int(d) for d in settings_.retry_days or [] if 0 < int(d) <= 60)
    return next(
        (cycle.cycle_date + timedelta(days=d) for d in days if cycle.cycle_date + timedelta(days=d) > today), None
    )


def _charge_and_settle(cycle_id: str, today: date, actor: str, result: RunResult) -> str:
    cycle = SubscriptionCycle.objects.select_related("payment", "subscription__account").get(pk=cycle_id)
    assert cycle.payment is not None  # noqa: S101
    return _charge_claimed(Claimed(cycle_id, cycle.payment, cycle.subscription), today, actor, result)


def _charge_claimed(claim: Claimed, today: date, actor: str, result: RunResult) -> str:
    paid = _charge_payment(claim.cycle_id, claim.payment, claim.subscription, actor)
    if paid is not None and _settle_charged(claim.cycle_id, paid, claim.subscription):
        outcome = "charged"
    else:
        outcome = _settle(claim.cycle_id, today)
    result.add(outcome)
    return outcome


# --------------------------------------------------------------------------- recovery after a crash


def _claim_abandoned(now: datetime, batch_size: int) -> list[str]:
    """Cycles still 予定 whose claim is older than the lease: their worker died (or the outcome is unknown).
    The claim is renewed here, so two workers never recover the same cycle at once."""
    stale = now - CLAIM_LEASE
    with transaction.atomic():
        cycles = list(
            SubscriptionCycle.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=CycleStatus.SCHEDULED, claimed_at__lt=stale, payment__isnull=False)
            .exclude(payment__provider_ref="", payment__needs_review=True)
            .order_by("claimed_at", "id")[:batch_size]
        )
        ids = [c.pk for c in cycles]
        SubscriptionCycle.objects.filter(pk__in=ids).update(claimed_at=now)
    return ids


def _recover(cycle_id: str, today: date, actor: str, result: RunResult) -> None:
    cycle = SubscriptionCycle.objects.select_related("payment__account", "subscription").get(pk=cycle_id)
    payment = cycle.payment
    assert payment is not None  # noqa: S101
    try:
        if payment.state == S.CREATED and not payment.operations.exists():
            # Claimed, never sent: no operation means no provider call was made.
            payment_services.charge_with_token(payment, token=buyer_token(cycle.subscription), actor=actor)
        elif payment.state in (S.AUTHORIZING, S.UNKNOWN):
            if payment.provider_ref:
                payment_services.refresh(payment, actor=actor)
            elif payment.provider in KEYED_CREATE_PROVIDERS:
                payment_services.resend_lost_charge(payment, token=buyer_token(cycle.subscription), actor=actor)
    except ProviderError as exc:
        log.info("cycle %s: recovery call failed: %s %s", cycle_id, exc.code, exc.message)
    except InvalidTransition as exc:
        log.info("cycle %s: not recovered now: %s", cycle_id, exc.message)
    result.add(_settle(cycle_id, today))


def _hand_back(cycle_ids: list[str], now: datetime) -> int:
    """Claimed cycles this pass will not charge (it was asked to stop): their claim is dated back past the lease, so
    the next pass recovers them at once (:func:`_claim_abandoned` → :func:`_recover`: a payment with no operation
    was never sent and is charged then). Only cycles still 予定 are touched."""
    if not cycle_ids:
        return 0
    expired = now - CLAIM_LEASE - timedelta(seconds=1)  # the pass's clock (``run_due(at=…)``)
    handed = SubscriptionCycle.objects.filter(pk__in=cycle_ids, status=CycleStatus.SCHEDULED).update(claimed_at=expired)
    log.info("stop requested: %d claimed cycles handed back to the next pass", handed)
    return handed


# --------------------------------------------------------------------------- the due run


def run_due(
    at: datetime | None = None,
    *,
    batch_size: int = 20,
    concurrency: int = 1,
    send_mails: bool = True,
    actor: str = SCHEDULER_ACTOR,
) -> RunResult:
    """One pass: recover abandoned cycles, charge every due cycle, run 自動再決済, send the result mails.

    ``concurrency`` > 1 runs that many threads, each claiming its own batches (``SKIP LOCKED`` keeps them
    apart on PostgreSQL); provider calls wait on the network, so threads overlap them. Use it with
    PostgreSQL (SQLite serialises writers; it works, slowly)."""
    now = at or timezone.now()
    today = jst_date(now)
    result = RunResult()

    def each_until_stopped(cycle_ids: list[str], charge: Callable[[int], object]) -> bool:
        """``charge(i)`` for each claimed cycle, checking for a stop request (SIGTERM) before each: then the rest
        is handed back (:func:`_hand_back`) so the next pass — on any worker — charges it at once, not after the
        claim lease. False when stopped."""
        for index in range(len(cycle_ids)):
            if scheduler.stop_requested():
                _hand_back(cycle_ids[index:], now)
                return False
            charge(index)
        return True

    def work() -> None:
        while not scheduler.stop_requested() and (ids := _claim_abandoned(now, batch_size)):
            if not each_until_stopped(ids, lambda i: _recover(ids[i], today, actor, result)):
                return
        while not scheduler.stop_requested() and (claims := _claim_due_batch(today, now, batch_size, result)):
            claimed_ids = [c.cycle_id for c in claims]
            if not each_until_stopped(claimed_ids, lambda i: _charge_claimed(claims[i], today, actor, result)):
                return
        while not scheduler.stop_requested() and (ids := _claim_retries(today, now, batch_size)):
            if not each_until_stopped(ids, lambda i: _charge_and_settle(ids[i], today, actor, result)):
                return

    if concurrency <= 1:
        work()
    else:
        errors: list[BaseException] = []

        def thread_main() -> None:
            try:
                work()
            except BaseException as exc:  # re-raised in the caller after every thread stopped
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=thread_main, name=f"billing-{i}") for i in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
    if send_mails and not scheduler.stop_requested():  # stopping: the next pass sends them
        from kessai.billing import mails

        mails.send_pending(today)
    return result


# --------------------------------------------------------------------------- one subscription, now


def charge_now(sub: Subscription, *, actor: str, at: datetime | None = None) -> SubscriptionCycle:
    """今すぐ課金: if the subscription is due, its due cycle (the schedule moves on); otherwise an extra cycle
    dated today (the schedule is unchanged). A second call the same day is refused by the cycle key."""
    now = at or timezone.now()
    today = jst_date(now)
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().select_related("account", "shop").get(pk=sub.pk)
        if locked.status != SubscriptionStatus.ACTIVE:
            raise ValidationFailed({"status": _("停止中の契約は課金できません。")}, code="subscription_stopped")
        due = locked.next_billing_on is not None and locked.next_billing_on <= today
        cycle_date = _due_dates(locked, today)[1] if due else today
        try:
            with transaction.atomic():
                if due:
                    _record_skipped(locked, _due_dates(locked, today)[0], _("課金処理が実行されなかった課金日です。"))
                cycle = _open_cycle(locked, cycle_date, Trigger.MANUAL, now)
        except IntegrityError:
            raise ValidationFailed(
                {"cycle_date": _("%(date)sの課金は既にあります。") % {"date": cycle_date.isoformat()}},
                code="cycle_exists",
            ) from None
        if due:
            locked.next_billing_on = _next_billing(locked, cycle_date)
            _roll_renewal(locked, today)
            locked.save(update_fields=["next_billing_on", "next_renewal_on", "updated_at"])
    _charge_and_settle(cycle.pk, today, actor, RunResult())
    return SubscriptionCycle.objects.get(pk=cycle.pk)


def retry(cycle: SubscriptionCycle, *, actor: str, at: datetime | None = None) -> SubscriptionCycle:
    """再決済: a new charge (new payment, ``…-R<n>``) for a cycle in 決済エラー. The failed attempt stays in
    the history. Refused when the last attempt's outcome is not a definite failure."""
    now = at or timezone.now()
    with transaction.atomic():
        locked = (
            SubscriptionCycle.objects.select_for_update(of=("self",))
            .select_related("subscription__account", "subscription__shop", "payment", "order")
            .get(pk=cycle.pk)
        )
        if not _retryable(locked):
            raise ValidationFailed({"cycle": _("決済エラーの課金のみ再決済できます。")}, code="cycle_not_retryable")
        if locked.subscription.status != SubscriptionStatus.ACTIVE:
            raise ValidationFailed({"status": _("停止中の契約は再決済できません。")}, code="subscription_stopped")
        _start_retry(locked, Trigger.RETRY, now)
    _charge_and_settle(locked.pk, jst_date(now), actor, RunResult())
    return SubscriptionCycle.objects.get(pk=cycle.pk)


# --------------------------------------------------------------------------- shop settings and mail templates


def save_settings(shop: Shop, *, auto_retry: bool, retry_days: Sequence[int], admin_email: str) -> BillingSettings:
    days = sorted({int(d) for d in retry_days})
    if auto_retry and not days:
        raise ValidationFailed({"retry_days": _("自動再決済を行う場合は再決済日を1つ以上指定してください。")})
    if any(not 1 <= d <= 60 for d in days):
        raise ValidationFailed({"retry_days": _("再決済日は1〜60の数字をカンマ区切りで入力してください。")})
    found, _created = BillingSettings.objects.update_or_create(
        shop=shop, defaults={"auto_retry": auto_retry, "retry_days": days, "admin_email": admin_email}
    )
    return found


def save_mail_template(shop: Shop, *, kind: str, subject: str, body: str) -> None:
    """Store a shop's own version of a mail; refused (nothing stored) if it does not compile."""
    from django.template import TemplateSyntaxError

    from kessai.billing import mails
    from kessai.billing.models import MailTemplate

    try:
        mails.check_template(subject, body)
    except TemplateSyntaxError as exc:
        raise ValidationFailed(
            {"body": _("テンプレートの書式が正しくありません: %(error)s") % {"error": exc}}
        ) from None
    MailTemplate.objects.update_or_create(shop=shop, kind=kind, defaults={"subject": subject, "body": body})


def reset_mail_template(shop: Shop, *, kind: str) -> None:
    from kessai.billing.models import MailTemplate

    MailTemplate.objects.filter(shop=shop, kind=kind).delete()
