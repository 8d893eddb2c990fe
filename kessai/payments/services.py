"""Payment use cases — the only code that moves a payment between states.

Every provider-facing operation runs in three steps (invariant 1, no double money movement):

1. **begin** — in a short transaction, lock the payment row (``select_for_update``), check the state
   machine, refuse if another operation is in flight or its outcome is unknown, and write a
   ``pending`` Operation. Committed before any network call, so a crash leaves a trace.
2. **call** the provider, outside any transaction (no row lock held while waiting on the network).
3. **complete** — lock again, mark the Operation ``succeeded`` / ``failed`` / ``unknown``, move the
   state, store the provider's balances, record a 決済エラーログ entry on failure, and write the
   outbound event in the same transaction.

A timeout leaves the Operation ``unknown``; only :func:`refresh` (a provider query) settles it.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kessai.common.text import prefecture_of
from kessai.payments import events, tokens
from kessai.payments.gateway import provider_for
from kessai.payments.ledger import Balances, replay
from kessai.payments.models import (
    BuyerToken,
    CaptureMode,
    Operation,
    OperationResult,
    Order,
    Payment,
    PaymentError,
    ProviderReference,
)
from kessai.payments.orders import _customer as _order_customer
from kessai.payments.orders import _destinations as _order_destinations
from kessai.payments.orders import _Errors, apply_fee_line, check_amount, clean_items, plan_order_fee
from kessai.payments.state import (
    ACTION_LABELS,
    ALLOWED_FROM,
    STATE_LABELS,
    TRANSITIONS,
    Action,
    InvalidTransition,
    PaymentState,
    check_transition,
    ensure_allowed,
)
from kessai.providers.base import (
    Customer,
    Destination,
    LineItem,
    OrderData,
    Provider,
    ProviderDeclined,
    ProviderError,
    ProviderPending,
    ProviderRequestInvalid,
    ProviderStatus,
    ProviderUnavailable,
    Shipment,
    TransactionSnapshot,
)
from kessai.shops.errors import ValidationFailed
from kessai.shops.keyring import ring_from_settings
from kessai.shops.models import PaymentMethod, ProviderAccount

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# A pending operation older than this is presumed abandoned (its process died mid-call) and is
# treated as unknown: refresh may settle it. Setting KESSAI_OPERATION_LEASE_SECONDS (default 5 minutes).
STALE_PENDING_AFTER = timedelta(seconds=settings.KESSAI_OPERATION_LEASE_SECONDS)

S = PaymentState
R = OperationResult

_STATUS_TO_STATE: Mapping[ProviderStatus, PaymentState] = {
    ProviderStatus.AUTHORIZED: S.AUTHORIZED,
    ProviderStatus.PENDING_REVIEW: S.PENDING_REVIEW,
    ProviderStatus.DECLINED: S.DECLINED,
    ProviderStatus.CAPTURED: S.CAPTURED,
    ProviderStatus.CANCELLED: S.CANCELLED,
    ProviderStatus.EXPIRED: S.AUTHORIZED,
}


class PaymentBusy(InvalidTransition):
    """Another operation on this payment is in flight (409)."""


class OutcomeUnknown(InvalidTransition):
    """An earlier operation's outcome is unknown: refresh first (409)."""


@dataclass(frozen=True)
class RequestKey:
    """The API request an operation runs for (kessai.api.idempotency sets :data:`REQUEST_KEY`): its
    Idempotency-Key record, and whether this run took the key over from a request whose process died."""

    key: str
    taken_over: bool = False


REQUEST_KEY: ContextVar[RequestKey | None] = ContextVar("kessai_request_key", default=None)


class RequestAlreadyRun(InvalidTransition):
    """A retry that took over the Idempotency-Key of a request whose process died finds the operation that request
    began (recorded under the key): it is not run a second time — after the janitor settled the first one, a
    refund would otherwise be paid out twice (found by the fault suite). The payment's operations tell the outcome."""

    def __init__(self, payment: Payment) -> None:
        super().__init__(
            _("このリクエストの処理は既に開始されています。決済の処理履歴で結果を確認してください。"),
            current=payment.state_enum,
            action="replay",
        )
        self.payment = payment


# --------------------------------------------------------------------------- order → provider data


def order_data(payment: Payment, order: Order | None = None) -> OrderData:
    order = order or payment.order
    customer = order.customer or {}
    return OrderData(
        shop_transaction_no=payment.shop_transaction_no,
        amount=payment.amount,
        items=tuple(
            LineItem(sku=i["sku"], name=i["name"], unit_price=int(i["unit_price"]), quantity=int(i["quantity"]))
            for i in order.items
        ),
        customer=Customer(
            name=customer.get("name", ""),
            name_kana=customer.get("name_kana", ""),
            email=customer.get("email", ""),
            phone=customer.get("phone", ""),
            zip_code=customer.get("zip_code", ""),
            address=customer.get("address", ""),
            company=customer.get("company", ""),
        ),
        destinations=tuple(
            Destination(
                name=d.get("name", ""),
                zip_code=d.get("zip_code", ""),
                address=d.get("address", ""),
                phone=d.get("phone", ""),
                name_kana=d.get("name_kana", ""),
                company=d.get("company", ""),
            )
            for d in order.destinations
        ),
        ordered_at=timezone.localtime(order.created_at).date().isoformat() if order.created_at else "",
    )


def customer_key(order: Order) -> str:
    return (order.customer_email or order.customer_phone or order.shop_order_no).lower()


# --------------------------------------------------------------------------- starting a payment


@dataclass(frozen=True)
class StartResult:
    payment: Payment
    requires_action: bool


def resolve_payment_method(order: Order, method_ref: str) -> PaymentMethod:
    method = (
        PaymentMethod.objects.select_related("provider_account").filter(shop=order.shop).filter(pk=method_ref).first()
    ) or PaymentMethod.objects.select_related("provider_account").filter(shop=order.shop, code=method_ref).first()
    if method is None or not method.active:
        raise ValidationFailed(
            {"payment_method": _("指定された支払方法は利用できません。")},
            code="unknown_payment_method",
            field_codes={"payment_method": "unknown_payment_method"},
        )
    return method


def start_payment(
    order: Order,
    *,
    method_ref: str,
    actor: str,
    capture: str | None = None,
    authentication_token: str = "",
    environment: str | None = None,
) -> StartResult:
    """Create a payment for an order with one of the shop's payment methods.

    With a stored buyer token the hub authorizes at once (server-side); otherwise the payment waits
    for the buyer at the hosted checkout and ``next_action`` says where to send them.
    ``environment`` (from the API key) restricts which accounts may be used."""
    method = resolve_payment_method(order, method_ref)
    account = method.provider_account
    if environment is not None and account.environment != environment:
        raise ValidationFailed(
            {"payment_method": _("このAPIキーの環境ではこの支払方法を利用できません。")},
            code="environment_mismatch",
            field_codes={"payment_method": "environment_mismatch"},
        )
    if not account.active:
        raise ValidationFailed({"payment_method": _("外部連携アカウントが無効です。")}, code="account_inactive")
    if capture not in (None, CaptureMode.MANUAL, CaptureMode.IMMEDIATE):
        raise ValidationFailed({"capture": _("capture は manual または immediate を指定してください。")})
    mode = capture or account.option("capture", CaptureMode.MANUAL)
    provider = provider_for(account)
    caps = provider.capabilities
    # 手数料設定: the chosen method's fee line makes the amount (docs/decisions/0002-golive-app.md).
    fee_plan = plan_order_fee(order, account.provider)
    if not caps.min_amount <= fee_plan.amount <= caps.max_amount:
        raise ValidationFailed(
            {
                "amount": _("この支払方法でご利用いただける金額は%(min)s〜%(max)s円です。")
                % {"min": f"{caps.min_amount:,}", "max": f"{caps.max_amount:,}"}
            },
            code="amount_over_provider_limit",
            field_codes={"amount": "amount_over_provider_limit"},
        )
    earlier = list(Payment.objects.filter(order=order).values_list("state", flat=True))
    if any(state not in (S.DECLINED, S.CANCELLED, S.CREATED) for state in earlier):
        raise ValidationFailed({"order": _("この注文には有効な決済が既にあります。")}, code="order_already_paid")
    order = apply_fee_line(order, account.provider)
    attempt = len(earlier) + 1
    payment = Payment(
        shop=order.shop,
        order=order,
        payment_method=method,
        account=account,
        provider=account.provider,
        shop_transaction_no=order.shop_order_no if attempt == 1 else f"{order.shop_order_no}-{attempt}",
        amount=order.amount,
        capture_mode=mode,
        checkout_token=secrets.token_urlsafe(24),
    )
    payment.buyer_token = authentication_token  # kept (sealed): the janitor re-sends a lost token charge with it
    payment.save(force_insert=True)
    if authentication_token:
        # the payment as completed under its lock (what refresh_from_db would read)
        return StartResult(
            payment=charge_with_token(payment, token=authentication_token, actor=actor), requires_action=False
        )
    if caps.browser_checkout:
        return StartResult(payment=payment, requires_action=True)
    return StartResult(payment=authorize(payment, actor=actor), requires_action=False)


def checkout_widget(payment: Payment) -> dict[str, Any]:
    """Widget config for the hosted checkout (or a cart's own page): never contains the secret key."""
    account = payment.account
    stored = (
        BuyerToken.objects.filter(account=account, customer_key=customer_key(payment.order))
        .only("account_id", "customer_key", "token_encrypted")
        .first()
    )
    token = stored.token if stored is not None else ""
    config = provider_for(account).checkout_config(
        order_data(payment), capture=payment.capture_mode == CaptureMode.IMMEDIATE, pre_token=token
    )
    return {"script_url": config.script_url, **dict(config.widget)}


def remember_buyer_token(payment: Payment, token: str, buyer_id: str = "") -> None:
    """Keep the buyer's token for the order's customer (one upsert on (account, customer_key))."""
    if not token:
        return
    _upsert_buyer_token(payment.shop_id, payment.account_id, customer_key(payment.order), token, buyer_id)


def _upsert_buyer_token(shop_id: str, account_id: str, key: str, token: str, buyer_id: str) -> BuyerToken:
    """One statement: insert, or replace the token of the (account, customer_key) row. The ciphertext's AAD is
    that natural key, so it fits whichever row the upsert lands on."""
    row = BuyerToken(shop_id=shop_id, account_id=account_id, customer_key=key, buyer_id=buyer_id)
    row.token = token
    BuyerToken.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["account", "customer_key"],
        update_fields=["shop", "token_encrypted", "token_digest", "buyer_id", "updated_at"],
    )
    return row


def rotate_buyer_token_encryption() -> dict[str, tuple[int, int]]:
    """Re-encrypt every stored buyer token under the ring's first key (run with ``kessai rotate-keys``):
    ``{"payments": (rotated, total), "buyer_tokens": (rotated, total)}`` over the rows that hold a token."""
    ring = ring_from_settings()
    payments_rotated = payments_total = 0
    for payment in Payment.objects.exclude(buyer_token_encrypted="").only("id", "buyer_token_encrypted").iterator():
        payments_total += 1
        if ring.needs_rotation(payment.buyer_token_encrypted):
            aad = tokens.payment_aad(payment.id)
            sealed = tokens.seal(tokens.unseal(payment.buyer_token_encrypted, aad=aad, ring=ring), aad=aad, ring=ring)
            # conditional: a token written meanwhile is not replaced by the re-encryption of the old one
            payments_rotated += Payment.objects.filter(
                pk=payment.pk, buyer_token_encrypted=payment.buyer_token_encrypted
            ).update(buyer_token_encrypted=sealed)
    rows_rotated = rows_total = 0
    for row in BuyerToken.objects.only("id", "account_id", "customer_key", "token_encrypted").iterator():
        rows_total += 1
        if ring.needs_rotation(row.token_encrypted):
            sealed = tokens.seal(tokens.unseal(row.token_encrypted, aad=row.aad, ring=ring), aad=row.aad, ring=ring)
            rows_rotated += BuyerToken.objects.filter(pk=row.pk, token_encrypted=row.token_encrypted).update(
                token_encrypted=sealed
            )
    return {"payments": (payments_rotated, payments_total), "buyer_tokens": (rows_rotated, rows_total)}


# --------------------------------------------------------------------------- the three steps


def _begin(
    payment_id: str,
    action: Action,
    *,
    amount: int,
    actor: str,
    data: dict[str, Any] | None = None,
    ensure: Callable[[Payment], None] | None = None,
    allowed_from: frozenset[PaymentState] | None = None,
) -> tuple[Payment, Operation]:
    """``allowed_from`` replaces the action's usual start states (与信内容変更 also starts from 保留)."""
    with transaction.atomic():
        # Lock the payment row (only that row: ``of=self``, the account and order are read, not locked, so
        # operations on other payments of the same account do not queue behind it).
        payment = Payment.objects.select_for_update(of=("self",)).select_related("account", "order").get(pk=payment_id)
        # The in-flight operation is looked up in its own statement, AFTER the lock is held. It must not be a
        # subquery of the locking SELECT: under READ COMMITTED, PostgreSQL re-reads only the locked row once the lock
        # wait ends, a subquery keeps the snapshot from before the wait and misses the pending operation of the
        # request that held the lock — two concurrent cancels both reached the provider (tests/scaleout).
        blocking = (
            Operation.objects.filter(payment=payment, result__in=[R.PENDING, R.UNKNOWN])
            .order_by("created_at", "id")
            .first()
        )
        request = REQUEST_KEY.get()
        if (
            request is not None
            and request.taken_over
            and payment.operations.filter(data__request_key=request.key).exists()
        ):
            raise RequestAlreadyRun(payment)
        if allowed_from is None:
            ensure_allowed(action, payment.state_enum)
        elif payment.state_enum not in allowed_from:
            raise InvalidTransition(
                _("決済状況が「%(current)s」のため、この操作はできません。")
                % {"current": STATE_LABELS[payment.state_enum]},
                current=payment.state_enum,
                action=action,
            )
        if action is not Action.REFRESH and blocking is not None:
            if blocking.result == R.PENDING and not _is_stale(blocking):
                raise PaymentBusy(
                    _("この決済は処理中です。しばらくしてから再度お試しください。"),
                    current=payment.state_enum,
                    action=action,
                )
            raise OutcomeUnknown(
                _("前回の処理(%(kind)s)の結果が不明です。「最新の状態を取得」を実行してください。")
                % {"kind": blocking.get_kind_display()},
                current=payment.state_enum,
                action=action,
            )
        if ensure is not None:
            ensure(payment)
        if action in (Action.AUTHORIZE, Action.CHARGE):
            check_transition(payment.state_enum, S.AUTHORIZING)
            payment.state = S.AUTHORIZING
            payment.save(update_fields=["state", "updated_at"])
        op = Operation.objects.create(
            payment=payment,
            kind=action,
            amount=amount,
            actor=actor,
            provider_ref=payment.provider_ref,
            data={**(data or {}), **({"request_key": request.key} if request is not None else {})},
        )
    return payment, op


def _is_stale(op: Operation) -> bool:
    return op.result == R.PENDING and op.created_at < timezone.now() - STALE_PENDING_AFTER


def _call(payment: Payment, op: Operation, call: Callable[[Provider], TransactionSnapshot]) -> TransactionSnapshot:
    """Run the provider call; on error complete the operation as failed/unknown and re-raise."""
    try:
        provider = provider_for(payment.account)
        return call(provider)
    except ProviderPending as exc:
        if exc.snapshot is None:
            _record_answer(op.pk, partial(_fail, payment.pk, op.pk, exc))
            raise
        return exc.snapshot
    except ProviderError as exc:
        _record_answer(op.pk, partial(_fail, payment.pk, op.pk, exc))
        raise


# Step 3 after a database restart or failover: without it the provider's answer (for a registration, the
# provider's id with it) would be lost with the connection, and only the janitor — or, where the provider cannot be
# asked without its id (NP後払い, GMO後払い), staff — could settle it. Seen in the fault suite (docs/reliability.md).
# Well inside the operation lease: past it the janitor may settle the operation (the retry then finds it done).
RECORD_RETRY_SECONDS = min(20.0, STALE_PENDING_AFTER.total_seconds() / 2)


def _record_answer(op_id: str, step: Callable[[], _T]) -> _T | None:
    """Run step 3 (``_complete`` / ``_fail``), retried on a broken database connection for up to
    :data:`RECORD_RETRY_SECONDS`. Not inside an outer transaction (that one is lost anyway). A retry after a commit
    whose acknowledgement was lost finds the operation completed and does nothing (returns None)."""
    deadline, delay, attempt = time.monotonic() + RECORD_RETRY_SECONDS, 0.2, 0
    while True:
        attempt += 1
        try:
            if attempt > 1 and not Operation.objects.filter(pk=op_id, result=R.PENDING).exists():
                return None
            return step()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable while recording operation %s; retrying", op_id, exc_info=True)
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _fail(payment_id: str, op_id: str, exc: ProviderError, *, read_only: bool = False) -> None:
    """Complete an operation whose provider call failed. ``read_only``: the call was a query (the
    checkout confirmation's fetch): nothing can have happened at the provider, so even a timeout is a
    plain failure and an authorization goes back to ``created`` (the buyer's browser or the provider's
    webhook can confirm again)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("order", "account").get(pk=payment_id)
        op = Operation.objects.select_for_update().get(pk=op_id)
        unknown = isinstance(exc, ProviderUnavailable) and not read_only
        op.result = R.UNKNOWN if unknown else R.FAILED
        op.provider_code = exc.code[:80]
        op.message = exc.message[:500]
        op.request_id = exc.request_id[:80]
        op.completed_at = timezone.now()
        kind = Action(op.kind)
        if kind in (Action.AUTHORIZE, Action.CHARGE):
            if unknown:
                _move(payment, S.UNKNOWN)
            elif isinstance(exc, ProviderDeclined):
                _apply_declined(payment, exc)
            else:
                _move(payment, S.CREATED)  # the provider refused the request: nothing happened there
        elif (
            kind is Action.CHANGE_AMOUNT
            and isinstance(exc, ProviderDeclined)
            and S.DECLINED in TRANSITIONS[payment.state_enum]
        ):
            # A captured payment keeps its captured transaction when only the new amount is refused
            # (the failed operation and the 決済エラーログ entry say so); an authorized one is 与信NG.
            _apply_declined(payment, exc)
        if isinstance(exc, ProviderDeclined) and exc.snapshot is not None:
            op.provider_ref = exc.snapshot.provider_ref
        op.save()
        payment.save()
        record_error(payment, op, exc)
        if isinstance(exc, ProviderDeclined):
            events.publish(payment, "payment.declined")


def _apply_declined(payment: Payment, exc: ProviderDeclined) -> None:
    snap = exc.snapshot
    if snap is not None and snap.provider_ref and snap.provider_ref != payment.provider_ref:
        if payment.provider_ref:
            payment.superseded_refs = [*payment.superseded_refs, payment.provider_ref]
        payment.provider_ref = snap.provider_ref
        _remember_ref(payment, snap.provider_ref)
    payment.decline_code = exc.code[:40]
    payment.decline_message = exc.message[:500]
    _clear_hold_reason(payment)
    _move(payment, S.DECLINED)


def _remember_ref(payment: Payment, ref: str) -> None:
    """Record a provider id of this payment (one statement: an id already recorded is left as it is)."""
    if ref:
        ProviderReference.objects.bulk_create(
            [ProviderReference(account_id=payment.account_id, ref=ref, payment=payment)], ignore_conflicts=True
        )


def _move(payment: Payment, target: PaymentState) -> None:
    check_transition(payment.state_enum, target)
    payment.state = target


def record_error(
    payment: Payment | None,
    op: Operation | None,
    exc: ProviderError,
    *,
    account: ProviderAccount | None = None,
    status: str = "",
) -> PaymentError:
    """決済エラーログ: every failed provider call, with code, message, request id (no credentials).
    ``status`` overrides the default (the error class) for failures that are not a call, e.g. "webhook"."""
    acct = account or (payment.account if payment else None)
    assert acct is not None  # noqa: S101
    status = status or ("unknown" if isinstance(exc, ProviderUnavailable) else type(exc).__name__)
    error = PaymentError.objects.create(
        shop_id=acct.shop_id,
        payment=payment,
        account=acct,
        provider=acct.provider,
        link_key=(payment.order.shop_order_no if payment else "")[:120],
        operation=op.kind if op else "",
        status=status[:40],
        code=exc.code[:80],
        message=exc.message[:1000] or type(exc).__name__,
        request_id=exc.request_id[:80],
        payload={"provider_payload": _safe_payload(exc.payload), "payment": payment.pk if payment else None},
    )
    events.publish_error(error, environment=acct.environment)
    return error


def _safe_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Provider payloads are kept for support; drop anything that looks like a credential."""
    banned = ("secret", "password", "key", "authorization", "token")
    return {k: v for k, v in dict(payload).items() if not any(b in k.lower() for b in banned)}


def _complete(payment_id: str, op_id: str, snap: TransactionSnapshot, *, data: dict[str, Any] | None = None) -> Payment:
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("order", "account").get(pk=payment_id)
        # The whole history in one read, locked: it holds this operation, and the ledger check below replays it
        # (with this operation's new result applied in memory) instead of reading it again.
        history = list(Operation.objects.select_for_update().filter(payment_id=payment_id).order_by("created_at", "id"))
        op = next((o for o in history if o.pk == op_id), None)
        if op is None:
            raise Operation.DoesNotExist(f"operation {op_id} of payment {payment_id}")
        snap = _known_amounts(payment, snap)
        kind = Action(op.kind)
        op.result = R.SUCCEEDED
        op.completed_at = timezone.now()
        op.provider_ref = snap.provider_ref or op.provider_ref
        op.request_id = snap.request_id[:80] or op.request_id
        op.data = {**(op.data or {}), **(data or {}), "provider_status": snap.status.value}
        if kind in (Action.AUTHORIZE, Action.CHARGE) and snap.status is ProviderStatus.CAPTURED:
            op.data["captured"] = True
        if kind is Action.REPORT_SHIPMENT and snap.status is ProviderStatus.CAPTURED:
            op.data["captured"] = True
        if snap.status is ProviderStatus.PENDING_REVIEW:
            op.message = snap.review_reason[:500]
        op.save(update_fields=["result", "completed_at", "provider_ref", "request_id", "data", "message"])
        _apply_snapshot(payment, _hold_timeout_view(payment, snap))
        if kind is Action.REPORT_SHIPMENT:
            payment.shipment_reported = True
        if snap.buyer_token:
            payment.buyer_token = snap.buyer_token
        _check_ledger(payment, history)
        payment.save()
        events.publish(payment, _event_for(kind, payment))
        if snap.buyer_token:
            # Last: the buyer's token row is shared by every payment of that customer, so its lock is held for
            # the shortest time (the commit right after).
            remember_buyer_token(payment, snap.buyer_token)
        return payment


def _apply_snapshot(payment: Payment, snap: TransactionSnapshot) -> None:
    held_before = payment.state == S.PENDING_REVIEW
    snap = _replacement_of_shipped(payment, snap)
    if snap.provider_ref and snap.provider_ref != payment.provider_ref:
        superseded = [r for r in (*payment.superseded_refs, *snap.superseded_refs, payment.provider_ref) if r]
        payment.superseded_refs = list(dict.fromkeys(r for r in superseded if r != snap.provider_ref))
        payment.provider_ref = snap.provider_ref
        _remember_ref(payment, snap.provider_ref)
    target = _STATUS_TO_STATE[snap.status]
    if target is S.DECLINED:
        payment.decline_code = snap.decline_code[:40]
        payment.decline_message = snap.decline_message[:500]
    try:
        _move(payment, target)
    except InvalidTransition:
        _flag(
            payment,
            _("プロバイダ側の状態(%(status)s)がKessaiの状態と矛盾しています。") % {"status": snap.status},
        )
    if snap.status is ProviderStatus.EXPIRED:
        _flag(payment, _("仮売上の有効期限が切れています。"))
    payment.amount = snap.amount
    payment.captured_amount = snap.captured_amount
    payment.refunded_amount = snap.refunded_amount
    if snap.status is ProviderStatus.PENDING_REVIEW:
        _set_hold_reason(payment, snap.review_reason)
    elif held_before or payment.review_reason:
        _clear_hold_reason(payment)


def _flag(payment: Payment, reason: str) -> None:
    payment.needs_review = True
    if reason not in payment.review_reason:
        payment.review_reason = (f"{payment.review_reason} {reason}".strip())[:500]
    Order.objects.filter(pk=payment.order_id).update(needs_review=True)


def _check_ledger(payment: Payment, history: list[Operation] | None = None) -> None:
    """The provider's balances must equal those replayed from our own history (``history``: the payment's
    operations in order, as read under the payment's lock and updated in memory; read here when not given)."""
    ours = replay(history if history is not None else payment.operations.order_by("created_at", "id"))
    theirs = Balances(payment.amount, payment.captured_amount, payment.refunded_amount)
    if ours != theirs:
        _flag(
            payment,
            _("決済金額が操作履歴と一致しません(履歴: %(ours)s / プロバイダ: %(theirs)s)。")
            % {"ours": ours, "theirs": theirs},
        )


def _event_for(kind: Action, payment: Payment) -> str:
    if payment.state == S.PENDING_REVIEW:
        return "payment.requires_review"
    if payment.state == S.DECLINED:
        return "payment.declined"
    return {
        Action.AUTHORIZE: "payment.captured" if payment.state == S.CAPTURED else "payment.authorized",
        Action.CHARGE: "payment.captured" if payment.state == S.CAPTURED else "payment.authorized",
        Action.CAPTURE: "payment.captured",
        Action.CANCEL: "payment.cancelled",
        Action.CHANGE_AMOUNT: "payment.amount_changed",
        Action.REFUND: "payment.refunded",
        Action.REPORT_SHIPMENT: "payment.shipment_reported",
        Action.REFRESH: "payment.refreshed",
    }[kind]


def _run(
    payment: Payment,
    action: Action,
    *,
    amount: int,
    actor: str,
    call: Callable[[Provider], TransactionSnapshot] | None = None,
    call_locked: Callable[[Provider, Payment], TransactionSnapshot] | None = None,
    data: dict[str, Any] | None = None,
    ensure: Callable[[Payment], None] | None = None,
    allowed_from: frozenset[PaymentState] | None = None,
) -> Payment:
    """``call_locked`` receives the payment as read under the lock of step 1 (with its order and account),
    for calls that send the order: no second read of the order."""
    locked, op = _begin(
        payment.pk, action, amount=amount, actor=actor, data=data, ensure=ensure, allowed_from=allowed_from
    )
    if call is None:
        assert call_locked is not None  # noqa: S101 - one of the two is always given
        with_payment = call_locked

        def call(provider: Provider) -> TransactionSnapshot:
            return with_payment(provider, locked)

    snap = _call(locked, op, call)
    done = _record_answer(op.pk, lambda: _complete(locked.pk, op.pk, snap))
    return done if done is not None else Payment.objects.select_related("order").get(pk=locked.pk)


# --------------------------------------------------------------------------- operations


def authorize(payment: Payment, *, actor: str) -> Payment:
    """与信を実行: server-side authorization from the order data (providers that screen server-side)."""
    capture = payment.capture_mode == CaptureMode.IMMEDIATE
    return _run(
        payment,
        Action.AUTHORIZE,
        amount=payment.amount,
        actor=actor,
        call_locked=lambda p, locked: p.authorize(order_data(locked), capture=capture),
    )


def charge_with_token(payment: Payment, *, token: str, actor: str, kind: Action = Action.CHARGE) -> Payment:
    """Authorize with a stored buyer token (server-side atone / Paidy, 継続課金)."""
    capture = payment.capture_mode == CaptureMode.IMMEDIATE
    return _run(
        payment,
        kind,
        amount=payment.amount,
        actor=actor,
        call_locked=lambda p, locked: p.charge_token(token, order_data(locked), capture=capture),
    )


def resend_lost_charge(payment: Payment, *, token: str, actor: str) -> Payment:
    """Settle a token charge whose answer was lost *before any provider id was stored* (the worker died
    mid-call, or the call timed out): ``refresh`` cannot ask the provider about a transaction we have no
    id for. Only for providers that refuse a second transaction with the same ``shop_transaction_no``
    (atone, protocol note §7; the billing app and the janitor keep the list): the re-send is then a keyed
    probe, not a blind retry — it creates the transaction if the first call never arrived, and is refused if
    it did.

    - accepted or declined → the first call never arrived: the earlier operation is closed as failed
      and the new answer is recorded as usual;
    - refused (duplicate, or any other request error) → a transaction may exist: the outcome stays
      unknown, the payment is flagged 要確認 for staff (atone's console or its 決済Webhook gives the id);
    - unavailable → still unknown; a later re-send is as safe as this one.
    Used by kessai.billing's recovery of crashed runs (docs/billing.md) and by the janitor."""
    capture = payment.capture_mode == CaptureMode.IMMEDIATE
    return _resend_lost(
        payment, Action.CHARGE, actor, lambda p, locked: p.charge_token(token, order_data(locked), capture=capture)
    )


def resend_lost_authorization(payment: Payment, *, actor: str) -> Payment:
    """:func:`resend_lost_charge` for a server-side authorization (与信 from the order data: NP後払い, GMO後払い,
    which refuse a second registration of the same 加盟店取引ID). Used by the janitor."""
    capture = payment.capture_mode == CaptureMode.IMMEDIATE
    return _resend_lost(
        payment, Action.AUTHORIZE, actor, lambda p, locked: p.authorize(order_data(locked), capture=capture)
    )


def _resend_lost(
    payment: Payment, kind: Action, actor: str, call: Callable[[Provider, Payment], TransactionSnapshot]
) -> Payment:
    with transaction.atomic():
        locked = Payment.objects.select_for_update().select_related("account", "order").get(pk=payment.pk)
        open_ops = list(locked.operations.select_for_update().filter(kind=kind, result__in=[R.PENDING, R.UNKNOWN]))
        if locked.provider_ref or not open_ops or locked.state not in (S.AUTHORIZING, S.UNKNOWN):
            raise InvalidTransition(
                _("結果不明の与信がないため、再送できません。"),
                current=locked.state_enum,
                action=kind,
            )
        if any(op.result == R.PENDING and not _is_stale(op) for op in open_ops):
            raise PaymentBusy(
                _("この決済は処理中です。しばらくしてから再度お試しください。"),
                current=locked.state_enum,
                action=kind,
            )
        op = Operation.objects.create(
            payment=locked,
            kind=kind,
            amount=locked.amount,
            actor=actor,
            data={"resend_of": [o.pk for o in open_ops]},
        )
    try:
        snap = call(provider_for(locked.account), locked)
    except ProviderPending as exc:
        if exc.snapshot is None:
            _fail(locked.pk, op.pk, exc)
            raise
        snap = exc.snapshot
    except (ProviderDeclined, ProviderUnavailable) as exc:
        with transaction.atomic():
            if isinstance(exc, ProviderDeclined):
                _close_lost(open_ops)
            _fail(locked.pk, op.pk, exc)
        raise
    except ProviderError as exc:
        with transaction.atomic():
            held = Payment.objects.select_for_update().get(pk=locked.pk)
            Operation.objects.filter(pk=op.pk).update(
                result=R.FAILED,
                provider_code=exc.code[:80],
                message=exc.message[:500],
                request_id=exc.request_id[:80],
                completed_at=timezone.now(),
            )
            Operation.objects.filter(pk__in=[o.pk for o in open_ops]).update(result=R.UNKNOWN)
            _move(held, S.UNKNOWN)
            _flag(
                held,
                _(
                    "結果不明の与信の再送が拒否されました(%(code)s)。前回の送信で取引が登録された可能性があります。決済会社の管理画面で取引番号%(no)sを確認してください。"
                )
                % {"code": exc.code, "no": held.shop_transaction_no},
            )
            held.save()
            record_error(held, op, exc)
        raise
    with transaction.atomic():
        _close_lost(open_ops)
        return _complete(locked.pk, op.pk, snap, data={"resent": True})


def _close_lost(ops: list[Operation]) -> None:
    """The provider accepted a re-send with the same key: the earlier sends never reached it."""
    Operation.objects.filter(pk__in=[o.pk for o in ops]).update(
        result=R.FAILED,
        message=_("決済会社に届いていませんでした(同じ取引番号での再送で確認)。"),
        completed_at=timezone.now(),
    )


def _unregistered_registrations(payment: Payment) -> list[Operation]:
    """The open authorizations / token charges of a payment that never learnt a provider id (none otherwise)."""
    if payment.provider_ref or payment.state not in (S.AUTHORIZING, S.UNKNOWN):
        return []
    return [o for o in _open_operations(payment) if o.kind in (Action.AUTHORIZE, Action.CHARGE)]


def can_close_unregistered(payment: Payment) -> bool:
    """True when :func:`close_unregistered` would accept ``payment`` (as read now, without a lock): an
    authorization or token charge whose outcome is unknown and whose provider id was never learnt."""
    return bool(_unregistered_registrations(payment))


def close_unregistered(payment: Payment, *, actor: str) -> Payment:
    """取引なしとして閉じる: staff confirmed in the provider's console that an authorization or token charge whose
    answer was lost (no provider id was ever learnt) never created a transaction there. The open operations are
    closed as failed and the payment as cancelled — nothing was authorized, nothing is left to cancel at the
    provider; the order may be paid again. Refused once the hub knows a provider id (then ``refresh`` decides)."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        open_ops = _unregistered_registrations(locked)
        if not open_ops:
            raise InvalidTransition(
                _("決済IDのない結果不明の与信がないため、取引なしとして閉じることはできません。"),
                current=locked.state_enum,
                action=Action.CANCEL,
            )
        note = _("決済会社に取引がないことを確認し、取引なしとして閉じました(%(actor)s)。") % {"actor": actor}
        for op in open_ops:
            op.result = R.FAILED
            op.message = (f"{op.message} {note}".strip())[:500]
            op.completed_at = timezone.now()
            op.save(update_fields=["result", "message", "completed_at"])
        if locked.state == S.AUTHORIZING:
            _move(locked, S.UNKNOWN)  # the call was abandoned mid-way: its outcome was unknown
        _move(locked, S.CANCELLED)
        locked.save()
        events.publish(locked, "payment.cancelled")
        return locked


def confirm_checkout(payment: Payment, *, provider_ref: str, actor: str) -> Payment:
    """The buyer's widget reported a transaction id. The browser is only a hint: fetch it from the
    provider and check amount and shop_transaction_no before recording 与信OK / NG.

    Idempotent: the browser and the provider's webhook may both report the same transaction, in any
    order; the second report returns the payment unchanged. A transaction that carries another
    ``shop_transaction_no`` is not this payment's and is refused without being recorded (cancelling it
    as a "mismatch" would cancel somebody else's order). A failed fetch changes nothing at the
    provider, so the payment goes back to ``created`` and may be confirmed again."""
    current = Payment.objects.get(pk=payment.pk)
    if current.state != S.CREATED and provider_ref and provider_ref in (current.provider_ref, *current.superseded_refs):
        return current
    payment, op = _begin(
        payment.pk,
        Action.AUTHORIZE,
        amount=payment.amount,
        actor=actor,
        data={"source": actor, "reported_ref": provider_ref[:100]},
    )
    try:
        snap = provider_for(payment.account).fetch(provider_ref)
    except ProviderError as exc:
        _fail(payment.pk, op.pk, exc, read_only=True)
        raise
    if snap.shop_transaction_no and snap.shop_transaction_no != payment.shop_transaction_no:
        refused = ProviderRequestInvalid(
            _("通知された取引(%(ref)s)はこの決済の取引ではありません(取引番号: %(theirs)s / 注文: %(ours)s)。")
            % {"ref": snap.provider_ref, "theirs": snap.shop_transaction_no, "ours": payment.shop_transaction_no},
            code="checkout:shop_transaction_no_mismatch",
            request_id=snap.request_id,
            payload={"provider_ref": snap.provider_ref, "shop_transaction_no": snap.shop_transaction_no},
        )
        _fail(payment.pk, op.pk, refused, read_only=True)
        raise refused
    mismatch = ""
    if snap.amount != payment.amount:
        mismatch = _("金額(プロバイダ: ¥%(theirs)s / 注文: ¥%(ours)s)") % {
            "theirs": f"{snap.amount:,}",
            "ours": f"{payment.amount:,}",
        }
    payment = _complete(payment.pk, op.pk, snap)
    if mismatch or snap.status is ProviderStatus.DECLINED:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().select_related("order", "account").get(pk=payment.pk)
            if mismatch:
                _flag(
                    payment,
                    _("注文内容と決済内容が一致しません: %(what)s。課金払戻(全額)で取り消してください。")
                    % {"what": mismatch},
                )
                payment.save()
            if snap.status is ProviderStatus.DECLINED:
                # 与信NG is an answer, not a failed call, but shops look for it in the 決済エラーログ
                # (Welcart lists 「金額超過」 there), as they do for NG from a server-side charge.
                declined = ProviderDeclined(
                    snap.decline_message or _("与信NGです。"),
                    code=f"checkout:NG{snap.decline_code}",
                    request_id=snap.request_id,
                    payload={"authorization_result_ng_reason": snap.decline_code},
                )
                record_error(payment, Operation.objects.get(pk=op.pk), declined)
    return payment


def capture(payment: Payment, *, actor: str, amount: int | None = None) -> Payment:
    """売上計上 / 売上確定."""

    def ensure(p: Payment) -> None:
        if amount is not None and amount != p.amount and not provider_for(p.account).capabilities.partial_capture:
            raise ValidationFailed(
                {"amount": _("この決済会社は一部の売上確定に対応していません。")},
                code="partial_capture_unsupported",
            )

    target = payment.amount if amount is None else amount
    return _run(
        payment,
        Action.CAPTURE,
        amount=target,
        actor=actor,
        ensure=ensure,
        call=lambda p: p.capture(payment.provider_ref, amount=amount),
    )


def cancel(payment: Payment, *, actor: str) -> Payment:
    """取消 (与信キャンセル / 課金払戻 全額). A cancelled payment cannot be restored."""
    return _run(
        payment,
        Action.CANCEL,
        amount=payment.amount,
        actor=actor,
        call=lambda p: p.cancel(payment.provider_ref),
    )


def refund(payment: Payment, *, amount: int, actor: str, reason: str = "") -> Payment:
    """Partial (or full) refund of captured money."""

    def ensure(p: Payment) -> None:
        remaining = p.captured_amount - p.refunded_amount
        if not 1 <= amount <= remaining:
            raise ValidationFailed(
                {"amount": _("返金額は1〜%(max)s円の範囲で入力してください。") % {"max": f"{remaining:,}"}},
                code="refund_amount_invalid",
            )

    return _run(
        payment,
        Action.REFUND,
        amount=amount,
        actor=actor,
        ensure=ensure,
        data={"reason": reason},
        call=lambda p: p.refund(payment.provider_ref, amount=amount, reason=reason),
    )


def change_amount(payment: Payment, *, amount: int, items: list[Mapping[str, Any]], actor: str) -> Payment:
    """取引修正 / 金額変更: new lines and amount, re-synced to the provider (may re-screen → 与信NG)."""
    errors = _Errors()
    cleaned = clean_items(items, errors)
    check_amount(errors, amount, cleaned)
    errors.raise_if_any()
    order = payment.order
    new_order = Order(
        pk=order.pk,
        shop=order.shop,
        shop_order_no=order.shop_order_no,
        amount=amount,
        items=cleaned,
        customer=order.customer,
        destinations=order.destinations,
        created_at=order.created_at,
    )
    data = replace(order_data(payment, new_order), amount=amount)
    result = _run(
        payment,
        Action.CHANGE_AMOUNT,
        amount=amount,
        actor=actor,
        data={"items": cleaned, "previous_amount": payment.amount},
        call=lambda p: p.change_amount(payment.provider_ref, data),
    )
    Order.objects.filter(pk=order.pk).update(amount=amount, items=cleaned)
    return _report_replacement_shipment(result, actor=actor)


def report_shipment(payment: Payment, *, carrier: str, tracking_no: str, actor: str) -> Payment:
    """出荷報告 / 伝票番号同期. For providers that bill on shipment this is the move to captured;
    for the others it is recorded for the shop's records only."""
    shipment = Shipment(carrier=carrier, tracking_no=tracking_no)
    caps = provider_for(payment.account).capabilities
    if caps.shipment_report:
        return _run(
            payment,
            Action.REPORT_SHIPMENT,
            amount=payment.amount,
            actor=actor,
            data={"carrier": carrier, "tracking_no": tracking_no},
            call=lambda p: p.report_shipment(payment.provider_ref, shipment),
        )
    payment, op = _begin(
        payment.pk,
        Action.REPORT_SHIPMENT,
        amount=payment.amount,
        actor=actor,
        data={"carrier": carrier, "tracking_no": tracking_no, "recorded_only": True},
    )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        Operation.objects.filter(pk=op.pk).update(
            result=R.SUCCEEDED,
            completed_at=timezone.now(),
            message=_("出荷情報を記録しました(決済会社への報告は不要です)。"),
        )
        payment.shipment_reported = True
        payment.save(update_fields=["shipment_reported", "updated_at"])
        events.publish(payment, "payment.shipment_reported")
    return payment


# Operations whose provider call creates a new provider transaction id (atone's 取引更新 makes a new
# ``tr_…``): while one of them is unresolved, the id may only be learnt from the provider's webhook.
_NEW_REF_KINDS = (Action.AUTHORIZE, Action.CHARGE, Action.CHANGE_AMOUNT)


def _open_operations(payment: Payment) -> list[Operation]:
    """Unknown operations and pending ones presumed abandoned (stale)."""
    return [
        op
        for op in payment.operations.filter(result__in=[R.UNKNOWN, R.PENDING]).order_by("created_at", "id")
        if op.result == R.UNKNOWN or _is_stale(op)
    ]


def awaiting_provider_ref(payment: Payment) -> bool:
    """True while an unresolved operation may have produced a provider transaction the hub has no id
    for (a timed-out authorization, charge or atone 取引更新): a confirmed notice naming a new
    transaction with this payment's ``shop_transaction_no`` is then its outcome."""
    return any(Action(op.kind) in _NEW_REF_KINDS for op in _open_operations(payment))


def refresh(payment: Payment, *, actor: str, provider_ref: str = "") -> Payment:
    """最新の状態を取得: query the provider and reconcile. The only way an unknown outcome is settled.

    ``provider_ref`` names a transaction the hub has not recorded yet (learnt from a confirmed webhook, or
    found by staff in the provider's console): accepted only while :func:`awaiting_provider_ref` and unless the
    provider says it carries another ``shop_transaction_no`` (GMO後払い's lookup does not say: staff's word is
    taken); it then becomes the payment's current transaction."""
    known = (payment.provider_ref, *payment.superseded_refs)
    adopting = bool(provider_ref) and provider_ref not in known
    ref = provider_ref if adopting else payment.provider_ref
    if not ref:
        raise InvalidTransition(
            _("決済IDがまだないため、状態を取得できません。"),
            current=payment.state_enum,
            action=Action.REFRESH,
        )

    def ensure(p: Payment) -> None:
        if adopting and not awaiting_provider_ref(p):
            raise InvalidTransition(
                _("取引%(ref)sはこの決済の取引として記録されていません。") % {"ref": provider_ref},
                current=p.state_enum,
                action=Action.REFRESH,
            )

    payment, op = _begin(
        payment.pk,
        Action.REFRESH,
        amount=payment.amount,
        actor=actor,
        ensure=ensure,
        data={"provider_ref": ref} if adopting else None,
    )
    if not adopting:
        # The locked row's transaction: the caller's copy may predate an amount change that replaced it (a webhook
        # read the payment, then atone's 取引更新 completed) — asking about the old one would cancel the payment
        # (found by the fault suite).
        ref = payment.provider_ref or ref
    snap = _call(payment, op, lambda p: p.fetch(ref))
    if adopting and snap.shop_transaction_no and snap.shop_transaction_no != payment.shop_transaction_no:
        refused = ProviderRequestInvalid(
            _("取引%(ref)sの取引番号(%(theirs)s)がこの決済(%(ours)s)と一致しません。")
            % {"ref": ref, "theirs": snap.shop_transaction_no, "ours": payment.shop_transaction_no},
            code="refresh:shop_transaction_no_mismatch",
            request_id=snap.request_id,
        )
        _fail(payment.pk, op.pk, refused, read_only=True)
        raise refused
    change = next((o for o in _open_operations(payment) if o.kind == Action.CHANGE_AMOUNT), None) if adopting else None
    if change is not None and _amounts_unreported(snap):
        # NP後払い's re-registration (an amount change after shipment) whose answer was lost, its new transaction
        # found by staff in the console: it exists only because the change was accepted, so it carries the change's
        # amount and replaces the current transaction (the provider's lookup reports no amounts).
        snap = replace(
            snap,
            amount=change.amount,
            superseded_refs=(*snap.superseded_refs, payment.provider_ref),
            raw={**snap.raw, AMOUNTS_REPORTED_KEY: True},
        )
    snap = _known_amounts(payment, snap)
    balances = {"amount": snap.amount, "captured": snap.captured_amount, "refunded": snap.refunded_amount}
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if not adopting and snap.provider_ref and snap.provider_ref in locked.superseded_refs:
            # An amount change completed while this refresh asked about the transaction it replaced: the old one's
            # state must not override the new one (found by the fault suite).
            return _change_in_flight(locked, op.pk, snap, balances)
        if not adopting and snap.status is ProviderStatus.CANCELLED and locked.state != S.CANCELLED:
            changing = locked.operations.filter(kind=Action.CHANGE_AMOUNT, result=R.PENDING)
            if any(not _is_stale(o) for o in changing):
                return _change_in_flight(locked, op.pk, snap, balances)
            superseding = [o for o in _open_operations(locked) if o.kind == Action.CHANGE_AMOUNT]
            if superseding:
                return _await_new_transaction(locked, op.pk, superseding, snap, balances)
        _resolve_open_operations(locked, snap, exclude=op.pk)
        Operation.objects.filter(pk=op.pk).update(
            data={**(op.data or {}), "balances": balances, "provider_status": snap.status.value}
        )
        # In the same transaction: operations settled by this answer and the payment moved by it commit together (a
        # process killed in between left a charge "succeeded" on a payment still unknown, without its id).
        done = _complete(payment.pk, op.pk, snap)
    # a re-registration replaced a shipped transaction: the same parcel is reported again for the new one
    return _report_replacement_shipment(done, actor=actor) if change is not None else done


def _change_in_flight(payment: Payment, op_id: str, snap: TransactionSnapshot, balances: dict[str, int]) -> Payment:
    """The old transaction reads cancelled while an amount change is still in flight (or has just replaced it):
    with atone that is the 取引更新 happening (the provider cancels the superseded transaction), and the change's own
    answer — or, if it is lost, the janitor and the provider's webhook — records the new transaction. Cancelling
    the payment now would orphan it (found by the fault suite), so this refresh changes nothing."""
    Operation.objects.filter(pk=op_id).update(
        result=R.SUCCEEDED,
        completed_at=timezone.now(),
        provider_ref=snap.provider_ref,
        data={"provider_status": snap.status.value, "change_in_flight": True, "seen": balances},
        message=_("金額変更で置き換えられる旧取引の状態のため、反映していません。"),
    )
    return payment


def _await_new_transaction(
    payment: Payment,
    op_id: str,
    superseding: list[Operation],
    snap: TransactionSnapshot,
    balances: dict[str, int],
) -> Payment:
    """An amount change whose answer was lost, and the old transaction is now cancelled: with atone
    that is what a successful 取引更新 looks like from the old id (the provider cancels the superseded
    transaction), and the new id is unknown until the provider's webhook names it. Moving the
    payment to ``cancelled`` would be wrong, so the change stays unknown (the janitor stops asking:
    the old id cannot tell more) and the payment is flagged 要確認."""
    Operation.objects.filter(pk=op_id).update(
        result=R.SUCCEEDED,
        completed_at=timezone.now(),
        provider_ref=snap.provider_ref,
        data={"provider_status": snap.status.value, "awaiting_new_transaction": True, "seen": balances},
        message=_("旧取引は取消済みです。金額変更で作られた新しい取引の通知を待っています。"),
    )
    for change in superseding:
        change.data = {**(change.data or {}), "awaiting_new_transaction": True}
        if change.result == R.PENDING:
            change.result = R.UNKNOWN  # abandoned mid-call: its outcome is unknown (and the janitor stops asking)
        change.save(update_fields=["data", "result"])
    # Earlier refreshes that failed were reads: nothing is in doubt about them, and left open they would keep the
    # janitor asking the old id again and again (found by the fault suite).
    for read in _open_operations(payment):
        if read.kind == Action.REFRESH and read.pk != op_id:
            read.result = R.FAILED
            read.completed_at = timezone.now()
            read.save(update_fields=["result", "completed_at"])
    if provider_for(payment.account).capabilities.webhooks:
        reason = _(
            "金額変更の結果が不明です。旧取引%(ref)sは取消済みのため、新しい取引が作られた可能性があります。"
            "決済会社のWebhookで新しい取引が届くと自動で反映されます。"
        ) % {"ref": snap.provider_ref}
    else:  # NP後払い's re-registration: no notice will name the new transaction, staff look it up
        reason = _(
            "金額変更の結果が不明です。旧取引%(ref)sは取消済みのため、新しい取引が作られた可能性があります。"
            "決済会社の管理画面で取引番号%(no)sの新しい取引を確認し、取引IDを指定して「最新の状態を取得」を実行してください。"
        ) % {"ref": snap.provider_ref, "no": payment.shop_transaction_no}
    _flag(payment, reason)
    payment.save()
    return payment


# Operations a provider may still be applying when the hub asks (the call timed out; the provider sleeps, then
# applies it): a view that does not show them yet is not proof they failed. Refunds and amount changes move money
# again when repeated (a double refund, found by the fault suite); a capture or cancel called failed too early leaves
# the hub 仮売上 while the provider has 売上確定 or 取消 once it lands, and nothing asks again (found by the fault
# suite in CI, seed 329028723).
_DECIDED_AFTER_LEASE = frozenset({Action.REFUND, Action.CHANGE_AMOUNT, Action.CAPTURE, Action.CANCEL})


def _resolve_open_operations(payment: Payment, snap: TransactionSnapshot, *, exclude: str) -> None:
    """Decide unknown (and stale pending) operations from the provider's current view."""
    for op in payment.operations.select_for_update().filter(result__in=[R.UNKNOWN, R.PENDING]).exclude(pk=exclude):
        if op.result == R.PENDING and not _is_stale(op):
            continue
        kind = Action(op.kind)
        status = snap.status
        if kind in (Action.AUTHORIZE, Action.CHARGE):
            done = status is not ProviderStatus.DECLINED
        elif kind is Action.CAPTURE:
            done = status is ProviderStatus.CAPTURED or snap.captured_amount > 0
        elif kind is Action.CANCEL:
            done = status is ProviderStatus.CANCELLED
        elif kind is Action.REFUND:
            # Against the refunds recorded as done, not payment.refunded_amount: a refresh while this refund was in
            # flight already copied the provider's total, this refund included (found by the fault suite).
            recorded = payment.operations.filter(kind=Action.REFUND, result=R.SUCCEEDED).exclude(pk=op.pk)
            done = snap.refunded_amount >= sum(recorded.values_list("amount", flat=True)) + op.amount
        elif kind is Action.CHANGE_AMOUNT:
            done = snap.amount == op.amount and not _amounts_unreported(snap)
        elif kind is Action.REPORT_SHIPMENT:
            done = snap.shipment_reported
        else:
            done = False
        # A cancel the provider's lookup cannot show at all (GMO後払い reads OK after a cancel) is not worth waiting
        # for: decided now and flagged for staff below, who repeat it ("already cancelled" = done).
        visible = not (kind is Action.CANCEL and _amounts_unreported(snap))
        if (
            not done
            and kind in _DECIDED_AFTER_LEASE
            and visible
            and op.created_at > timezone.now() - STALE_PENDING_AFTER
        ):
            # Not done *yet*: a call that timed out may still be processed by the provider (it sleeps, then applies
            # the change). It stays unknown until the operation lease has run out, then the janitor decides
            # (see _DECIDED_AFTER_LEASE). A shipment report is decided at once: the providers that bill on it
            # cannot show it (flagged for staff below), and a repeat is "already reported".
            continue
        op.result = R.SUCCEEDED if done else R.FAILED
        note = _("状態確認により確定しました。")
        if (
            not done
            and _amounts_unreported(snap)
            and kind in (Action.CHANGE_AMOUNT, Action.REPORT_SHIPMENT, Action.CANCEL)
        ):
            # The provider's API cannot confirm these (NP後払い reports no amounts and no shipments; GMO後払い's
            # getauthor answers only the screening, so a cancelled transaction still reads OK): the operation
            # is closed as failed, flagged, and staff repeat it (a repeated shipment report or cancel is "done").
            note = _("決済会社のAPIでは結果を確認できないため失敗として扱いました。もう一度実行してください。")
            _flag(
                payment,
                _("%(kind)sの結果を決済会社のAPIで確認できませんでした。もう一度実行してください。")
                % {"kind": ACTION_LABELS[kind]},
            )
            payment.save(update_fields=["needs_review", "review_reason", "updated_at"])
        op.message = (op.message + " " + note).strip()[:500]
        op.completed_at = timezone.now()
        op.save(update_fields=["result", "message", "completed_at"])


def resolve_refresh_targets(limit: int = 100) -> list[str]:
    """Payments with an unknown (or stale pending) operation: the janitor refreshes them."""
    stale = timezone.now() - STALE_PENDING_AFTER
    # (a missing JSON key must not drop the row, so no negated key lookup here)
    unknown = Q(result=R.UNKNOWN) & (
        Q(data__awaiting_new_transaction__isnull=True) | Q(data__awaiting_new_transaction=False)
    )
    ids = (
        Operation.objects.filter(unknown | Q(result=R.PENDING, created_at__lt=stale))
        # Without a provider id there is nothing to ask; those are settled by webhooks or billing recovery.
        .exclude(payment__provider_ref="")
        .order_by("payment_id")
        .values_list("payment_id", flat=True)
        .distinct()
    )
    return list(ids[:limit])


# --------------------------------------------------------------------------- notices from the provider


def lookup_transaction(account: ProviderAccount, provider_ref: str) -> TransactionSnapshot:
    """Read one provider transaction (取引参照) to confirm a notice. A query: changes nothing, and a
    failure lands in the 決済エラーログ like every failed provider call."""
    try:
        return provider_for(account).fetch(provider_ref)
    except ProviderError as exc:
        payment = (
            Payment.objects.select_related("order", "account")
            .filter(account=account, references__ref=provider_ref)
            .first()
        )
        record_error(payment, None, exc, account=account)
        raise


def matches_snapshot(payment: Payment, snap: TransactionSnapshot) -> bool:
    """Does the payment already say what the provider says (same transaction, state and balances)?"""
    return (
        payment.provider_ref == snap.provider_ref
        and payment.state == _STATUS_TO_STATE[snap.status]
        and (payment.amount, payment.captured_amount, payment.refunded_amount)
        == (snap.amount, snap.captured_amount, snap.refunded_amount)
    )


def flag_for_review(payment: Payment, reason: str) -> Payment:
    """Mark a payment (and its order) 要確認 with a reason for staff."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        _flag(locked, reason)
        locked.save(update_fields=["needs_review", "review_reason", "updated_at"])
        return locked


def record_authentication(account: ProviderAccount, *, token: str, buyer_id: str = "") -> BuyerToken | None:
    """A buyer authenticated at the provider (atone 認証Webhook): keep the token for that buyer.

    Matched through the payment that carries the token (→ the order's customer), else through an earlier
    token of the same provider member (``buyer_id``, atone ``user_no``), else kept under the member
    number until a payment names the token."""
    if not token:
        return None
    payment = (
        Payment.objects.select_related("order", "account")
        .filter(account=account, buyer_token_digest=tokens.digest(token))
        .order_by("-created_at")
        .first()
    )
    if payment is not None:
        remember_buyer_token(payment, token, buyer_id)
        return BuyerToken.objects.get(account=account, customer_key=customer_key(payment.order))
    if buyer_id:
        known = list(BuyerToken.objects.filter(account=account, buyer_id=buyer_id).order_by("-updated_at"))
        for row in known:  # each row's ciphertext is bound to that row: sealed one by one
            row.token = token
            row.save(update_fields=["token_encrypted", "token_digest", "updated_at"])
        if known:
            return known[0]
        return _upsert_buyer_token(account.shop_id, account.id, f"buyer:{buyer_id}", token, buyer_id)
    return None


def adopt_provider_transaction(
    account: ProviderAccount,
    snapshot: TransactionSnapshot,
    *,
    actor: str = "webhook",
    order: Mapping[str, Any] | None = None,
) -> Payment:
    """A confirmed provider transaction the hub has no payment for (the buyer's browser never came
    back): create the payment — and the order, unless one with its number exists — from the provider's
    data, and flag it 要確認. ``order`` holds what the provider's data says of the order (``items``,
    ``customer``, ``destinations``), read by the caller; lines are balanced to the transaction's amount.

    Idempotent: a transaction already recorded returns its payment."""
    existing = _recorded_payment(account, snapshot)
    if existing is not None:
        return existing
    data = dict(order or {})
    number = (snapshot.shop_transaction_no or snapshot.provider_ref)[:100]
    items = _balanced_items(list(data.get("items") or []), snapshot)
    customer = {k: str(v) for k, v in dict(data.get("customer") or {}).items() if v}
    try:
        with transaction.atomic():
            order_row = Order.objects.select_for_update().filter(shop_id=account.shop_id, shop_order_no=number).first()
            reused = order_row is not None
            if order_row is None:
                order_row = Order.objects.create(
                    shop_id=account.shop_id,
                    shop_order_no=number,
                    amount=snapshot.amount,
                    items=items,
                    customer=customer,
                    destinations=list(data.get("destinations") or []),
                    customer_name=customer.get("name", "")[:100],
                    customer_phone=customer.get("phone", "")[:20],
                    customer_email=customer.get("email", "").lower()[:255],
                    prefecture=prefecture_of(customer.get("address", "")),
                )
            other_active = (
                Payment.objects.filter(order=order_row).exclude(state__in=[S.DECLINED, S.CANCELLED, S.CREATED]).exists()
            )
            method = (
                PaymentMethod.objects.filter(shop_id=account.shop_id, provider_account=account)
                .order_by("sort", "created_at")
                .first()
            )
            immediate = snapshot.status is ProviderStatus.CAPTURED
            payment = Payment.objects.create(
                shop_id=account.shop_id,
                order=order_row,
                payment_method=method,
                account=account,
                provider=account.provider,
                shop_transaction_no=number,
                amount=snapshot.amount,
                capture_mode=CaptureMode.IMMEDIATE if immediate else account.option("capture", CaptureMode.MANUAL),
                state=S.AUTHORIZING,
            )
            Operation.objects.create(
                payment=payment,
                kind=Action.AUTHORIZE,
                amount=snapshot.amount,
                actor=actor,
                result=R.SUCCEEDED,
                provider_ref=snapshot.provider_ref,
                completed_at=timezone.now(),
                message=_("決済会社からの通知で記録しました。"),
                data={
                    "source": actor,
                    "adopted": True,
                    "provider_status": snapshot.status.value,
                    "captured": immediate,
                },
            )
            _apply_snapshot(payment, snapshot)
            if snapshot.buyer_token:
                payment.buyer_token = snapshot.buyer_token
            reason = _(
                "Kessaiに記録のない取引(%(ref)s)を決済会社の通知で受け取り、取引情報から記録しました"
                "(購入者のブラウザが戻らなかった可能性があります)。注文内容を確認し、不要な場合は課金払戻(全額)で取り消してください。"
            ) % {"ref": snapshot.provider_ref}
            _flag(payment, reason)
            if reused and order_row.amount != snapshot.amount:
                _flag(
                    payment,
                    _("注文内容と決済内容が一致しません: %(what)s。課金払戻(全額)で取り消してください。")
                    % {
                        "what": _("金額(プロバイダ: ¥%(theirs)s / 注文: ¥%(ours)s)")
                        % {"theirs": f"{snapshot.amount:,}", "ours": f"{order_row.amount:,}"}
                    },
                )
            if other_active:
                _flag(payment, _("この注文には別の有効な決済があります(二重決済の可能性があります)。"))
            _check_ledger(payment)
            payment.save()
            if snapshot.buyer_token:
                remember_buyer_token(payment, snapshot.buyer_token)
            events.publish(payment, _event_for(Action.AUTHORIZE, payment))
            return payment
    except IntegrityError:
        # Another worker adopted the same transaction at the same moment.
        raced = _recorded_payment(account, snapshot)
        if raced is None:
            raise
        return raced


def _recorded_payment(account: ProviderAccount, snapshot: TransactionSnapshot) -> Payment | None:
    by_ref = Payment.objects.filter(account=account, references__ref=snapshot.provider_ref).first()
    if by_ref is not None or not snapshot.shop_transaction_no:
        return by_ref
    return Payment.objects.filter(account=account, shop_transaction_no=snapshot.shop_transaction_no).first()


def _balanced_items(items: list[Mapping[str, Any]], snapshot: TransactionSnapshot) -> list[dict[str, Any]]:
    """Lines that add up to the transaction's amount: the provider's lines, plus a 「調整金額」 line
    for any difference (as carts do when their lines and total disagree)."""
    lines: list[dict[str, Any]] = [
        {
            "sku": str(i.get("sku", ""))[:100],
            "name": str(i.get("name", ""))[:100],
            "unit_price": int(i.get("unit_price", 0)),
            "quantity": int(i.get("quantity", 0)),
        }
        for i in items
    ]
    total = sum(line["unit_price"] * line["quantity"] for line in lines)
    if not lines:
        name = _("決済会社の取引 %(ref)s") % {"ref": snapshot.provider_ref}
        return [{"sku": snapshot.provider_ref[:100], "name": name[:100], "unit_price": snapshot.amount, "quantity": 1}]
    if total != snapshot.amount:
        lines.append({"sku": "adjustment", "name": _("調整金額"), "unit_price": snapshot.amount - total, "quantity": 1})
    return lines


def can_refund_mismatch(payment: Payment) -> bool:
    """Is the guide's remedy for a data mismatch (full 課金払戻) on offer for this payment?"""
    return payment.needs_review and payment.state_enum in ALLOWED_FROM[Action.CANCEL]


def refund_mismatch(payment: Payment, *, actor: str) -> Payment:
    """データ不整合の解消: cancel a payment flagged 要確認 with a full 課金払戻, as the atone guide says
    to do when the provider's transaction and the shop's order disagree. One action for the
    back-office and the API; the 要確認 flag is lifted once the provider confirms the cancel."""
    if not payment.needs_review:
        raise InvalidTransition(
            _("この決済は要確認ではないため、不整合の解消(課金払戻)は行えません。通常の取消をご利用ください。"),
            current=payment.state_enum,
            action=Action.CANCEL,
        )
    cancelled = cancel(payment, actor=actor)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=cancelled.pk)
        note = _("課金払戻(全額)で取り消しました(不整合の解消)。")
        locked.needs_review = False
        locked.review_reason = (f"{locked.review_reason} → {note}".strip())[:500]
        locked.save(update_fields=["needs_review", "review_reason", "updated_at"])
        still_flagged = Payment.objects.filter(order_id=locked.order_id, needs_review=True).exists()
        if not still_flagged:
            Order.objects.filter(pk=locked.order_id).update(needs_review=False)
        op = locked.operations.filter(kind=Action.CANCEL, result=R.SUCCEEDED).order_by("-created_at").first()
        if op is not None:
            op.data = {**(op.data or {}), "remedy": "refund_mismatch"}
            op.save(update_fields=["data"])
        return locked


# --------------------------------------------------------------------------- 与信保留 workflow
#
# 保留 (hold) and 審査中 (manual review) both put a payment in ``pending_review`` (providers with
# ``held_state``). The provider's Japanese reason (NP後払い: the RE codes) is the payment's
# ``review_reason`` while it lasts. From there:
#
# - 与信内容変更: staff correct the data and the provider re-screens (:func:`rescreen`);
# - 与信結果確認: one lookup on demand (:func:`refresh`); the worker polls held payments
#   (``kessai.payments.tasks.refresh_held_payments``);
# - a hold not resolved within the account's ``hold_timeout_hours`` (default 72) becomes NG: the provider's
#   transaction is cancelled and the payment is declined (:func:`expire_hold`) — the only way from
#   ``pending_review`` to ``declined`` besides a provider's own NG;
# - 与信キャンセル: :func:`cancel`.

HOLD_TIMEOUT_OPTION = "hold_timeout_hours"
DEFAULT_HOLD_TIMEOUT_HOURS = 72
HOLD_TIMEOUT_CODE = "hold_timeout"
RESCREEN_FROM: frozenset[PaymentState] = frozenset({S.AUTHORIZED, S.PENDING_REVIEW})

# A provider whose answers carry no amounts (NP後払い: cancel, shipments and the find endpoints) marks its
# snapshot with this raw key set to False; the hub then keeps its own amounts (see _known_amounts). The same
# literal is ``kessai.providers.np_atobarai.const.AMOUNTS_REPORTED_KEY`` (a test keeps them equal).
AMOUNTS_REPORTED_KEY = "_kessai_amounts_reported"
_AMOUNTS_FILLED = "filled_by_hub"


def _amounts_unreported(snap: TransactionSnapshot) -> bool:
    return snap.raw.get(AMOUNTS_REPORTED_KEY) in (False, _AMOUNTS_FILLED)


def _known_amounts(payment: Payment, snap: TransactionSnapshot) -> TransactionSnapshot:
    """A snapshot whose provider reported no amounts, completed from what the hub knows: the payment's
    amount; captured = the whole amount once captured (no provider of this kind captures partially);
    refunded = the captured money once cancelled. Such a provider cannot tell a shipment either (NP's find
    endpoints only prove it once the buyer has paid), so "authorized" for a payment the hub knows is
    captured keeps it captured."""
    if snap.raw.get(AMOUNTS_REPORTED_KEY) is not False:
        return snap
    status, shipped = snap.status, snap.shipment_reported
    captured, refunded = payment.captured_amount, payment.refunded_amount
    same_transaction = snap.provider_ref in ("", payment.provider_ref)
    if status is ProviderStatus.AUTHORIZED and payment.state == S.CAPTURED and same_transaction:
        status, shipped = ProviderStatus.CAPTURED, payment.shipment_reported
    if status is ProviderStatus.CAPTURED:
        captured = payment.amount
    elif status is ProviderStatus.CANCELLED:
        refunded = captured
    return replace(
        snap,
        status=status,
        amount=payment.amount,
        captured_amount=captured,
        refunded_amount=refunded,
        shipment_reported=shipped,
        shop_transaction_no=snap.shop_transaction_no or payment.shop_transaction_no,
        raw={**snap.raw, AMOUNTS_REPORTED_KEY: _AMOUNTS_FILLED},
    )


def _replacement_of_shipped(payment: Payment, snap: TransactionSnapshot) -> TransactionSnapshot:
    """A captured payment whose transaction the provider replaced by a new, not yet shipped one (NP後払い's
    re-registration after the shipment report): the goods are out, so the payment stays captured for the
    new amount, but the new transaction needs its own shipment report (``shipment_reported`` → False)."""
    replaced = (
        payment.state == S.CAPTURED
        and bool(payment.provider_ref)
        and payment.provider_ref in snap.superseded_refs
        and snap.provider_ref != payment.provider_ref
        and snap.status is ProviderStatus.AUTHORIZED
    )
    if not replaced:
        return snap
    payment.shipment_reported = False
    return replace(snap, status=ProviderStatus.CAPTURED, captured_amount=snap.amount, refunded_amount=0)


def _report_replacement_shipment(payment: Payment, *, actor: str) -> Payment:
    """After :func:`_replacement_of_shipped`: report the last shipment again for the new transaction (the
    same parcel: same carrier and slip number), as Saleor's NP gateway does. If that fails the payment is
    flagged 要確認 and stays in the list of unreported shipments."""
    if payment.state != S.CAPTURED or payment.shipment_reported:
        return payment
    if not provider_for(payment.account).capabilities.capture_requires_shipment:
        return payment
    last = payment.operations.filter(kind=Action.REPORT_SHIPMENT, result=R.SUCCEEDED).order_by("-created_at").first()
    shipment = (last.data or {}) if last is not None else {}
    reason = _("金額変更で新しい取引(%(ref)s)が登録されました。出荷報告(伝票番号同期)をもう一度行ってください。") % {
        "ref": payment.provider_ref
    }
    if not shipment.get("carrier") or not shipment.get("tracking_no"):
        return flag_for_review(payment, reason)
    try:
        return report_shipment(
            payment, carrier=str(shipment["carrier"]), tracking_no=str(shipment["tracking_no"]), actor=actor
        )
    except (PaymentBusy, OutcomeUnknown):
        # another operation (or a second janitor) holds the payment, or one is in doubt (refresh settles it first):
        # the janitor comes back to it (replacement_shipment_targets) — not a case for staff
        return Payment.objects.get(pk=payment.pk)
    except (ProviderError, InvalidTransition) as exc:
        log.warning("re-reporting the shipment of %s failed: %s", payment.pk, getattr(exc, "message", exc))
        return flag_for_review(Payment.objects.get(pk=payment.pk), reason)


def replacement_shipment_targets(limit: int = 100, *, now: datetime | None = None) -> list[str]:
    """Captured payments whose transaction was replaced after shipment (an amount change re-registered it) and
    whose parcel was not reported again for the new one — the request that changed the amount was cut off between
    the change and the re-report (a process killed, the database restarted; found by the fault suite). Only once
    the operation lease has run out since the payment last changed, so the request still running is not raced,
    and never with an operation open (``refresh`` settles those first) or a case already flagged for staff."""
    before = (now or timezone.now()) - STALE_PENDING_AFTER
    open_ops = Operation.objects.filter(payment=OuterRef("pk"), result__in=[R.UNKNOWN, R.PENDING])
    shipped = Operation.objects.filter(payment=OuterRef("pk"), kind=Action.REPORT_SHIPMENT, result=R.SUCCEEDED)
    ids = (
        Payment.objects.filter(state=S.CAPTURED, shipment_reported=False, needs_review=False, updated_at__lt=before)
        .exclude(provider_ref="")
        .exclude(superseded_refs=[])
        .filter(Exists(shipped))
        .exclude(Exists(open_ops))
        .order_by("updated_at", "id")
        .values_list("pk", flat=True)
    )
    return list(ids[:limit])


def report_replacement_shipment(payment: Payment, *, actor: str) -> Payment:
    """The janitor's re-report for :func:`replacement_shipment_targets` (the same parcel; a repeat is "already
    reported" at the provider). A failure flags the payment 要確認 for staff."""
    return _report_replacement_shipment(payment, actor=actor)


def _hold_reasons(payment: Payment) -> set[str]:
    """Every hold reason this payment has shown (the messages of its succeeded pending_review answers)."""
    return set(
        payment.operations.filter(result=R.SUCCEEDED, data__provider_status=ProviderStatus.PENDING_REVIEW.value)
        .exclude(message="")
        .values_list("message", flat=True)
    )


def _without_hold_reasons(payment: Payment) -> str:
    text = payment.review_reason
    for reason in sorted(_hold_reasons(payment), key=len, reverse=True):
        text = text.replace(reason, "")
    return " ".join(text.split())


def _set_hold_reason(payment: Payment, reason: str) -> None:
    """The provider's current hold reason (Japanese) leads ``review_reason``; earlier ones are replaced.
    A hold is a state, not an inconsistency: ``needs_review`` is left alone."""
    rest = _without_hold_reasons(payment)
    payment.review_reason = (f"{reason[:500]} {rest}".strip() if reason else rest)[:500]


def _clear_hold_reason(payment: Payment) -> None:
    if payment.review_reason:
        payment.review_reason = _without_hold_reasons(payment)


def hold_timeout(account: ProviderAccount) -> timedelta:
    """The account option ``hold_timeout_hours`` (default 72): after this a hold becomes NG."""
    raw = account.option(HOLD_TIMEOUT_OPTION, DEFAULT_HOLD_TIMEOUT_HOURS)
    try:
        hours = float(raw)
    except (TypeError, ValueError):
        hours = DEFAULT_HOLD_TIMEOUT_HOURS
    if hours <= 0:
        hours = DEFAULT_HOLD_TIMEOUT_HOURS
    return timedelta(hours=hours)


def held_since(payment: Payment) -> datetime | None:
    """When the current hold began: the first answer of the latest unbroken run of ``pending_review``
    answers (polls and re-screens that stay held do not restart the clock)."""
    if payment.state != S.PENDING_REVIEW:
        return None
    since: datetime | None = None
    for op in payment.operations.filter(result=R.SUCCEEDED).order_by("created_at", "id"):
        status = (op.data or {}).get("provider_status")
        if status == ProviderStatus.PENDING_REVIEW.value:
            since = since or op.completed_at or op.created_at
        elif status:
            since = None
    return since or payment.updated_at


def hold_expired(payment: Payment, *, now: datetime | None = None) -> bool:
    since = held_since(payment)
    return since is not None and since + hold_timeout(payment.account) <= (now or timezone.now())


def rescreen(
    payment: Payment,
    *,
    actor: str,
    customer: Mapping[str, Any] | None = None,
    destinations: list[Mapping[str, Any]] | None = None,
    items: list[Mapping[str, Any]] | None = None,
    amount: int | None = None,
) -> Payment:
    """与信内容変更: correct the order's buyer, destinations and/or lines and let the provider screen again
    with its update call (NP後払い ``/transactions/update``). From 保留/審査中 or 与信OK; the answer moves the
    payment (OK → authorized, 保留 → stays pending_review with the new reason, NG → declined). The order
    keeps the corrected data when the provider accepted it (OK or 保留)."""
    caps = provider_for(payment.account).capabilities
    if not (caps.change_amount and caps.change_amount_rescreens):
        raise InvalidTransition(
            _("この決済会社では与信内容変更(再審査)はできません。"),
            current=payment.state_enum,
            action=Action.CHANGE_AMOUNT,
        )
    if payment.state_enum not in RESCREEN_FROM:
        raise InvalidTransition(
            _("決済状況が「%(current)s」のため、与信内容変更はできません。")
            % {"current": STATE_LABELS[payment.state_enum]},
            current=payment.state_enum,
            action=Action.CHANGE_AMOUNT,
        )
    order = payment.order
    errors = _Errors()
    new_customer = _order_customer(errors, customer) if customer is not None else dict(order.customer)
    new_destinations = (
        _order_destinations(errors, destinations) if destinations is not None else list(order.destinations)
    )
    new_items = clean_items(items, errors) if items is not None else list(order.items)
    new_amount = payment.amount if amount is None else amount
    if items is not None or amount is not None:
        check_amount(errors, new_amount, new_items)
    errors.raise_if_any()
    corrected = Order(
        pk=order.pk,
        shop=order.shop,
        shop_order_no=order.shop_order_no,
        amount=new_amount,
        items=new_items,
        customer=new_customer,
        destinations=new_destinations,
        created_at=order.created_at,
    )
    data = replace(order_data(payment, corrected), amount=new_amount)
    result = _run(
        payment,
        Action.CHANGE_AMOUNT,
        amount=new_amount,
        actor=actor,
        allowed_from=RESCREEN_FROM,
        data={"rescreen": True, "items": new_items, "previous_amount": payment.amount},
        call=lambda p: p.change_amount(payment.provider_ref, data),
    )
    Order.objects.filter(pk=order.pk).update(
        amount=new_amount,
        items=new_items,
        customer=new_customer,
        destinations=new_destinations,
        customer_name=str(new_customer.get("name", ""))[:100],
        customer_phone=str(new_customer.get("phone", ""))[:20],
        customer_email=str(new_customer.get("email", "")).lower()[:255],
        prefecture=prefecture_of(str(new_customer.get("address", ""))),
    )
    return result


def expire_hold(payment: Payment, *, actor: str, now: datetime | None = None) -> Payment:
    """A hold not resolved within ``hold_timeout_hours`` becomes NG, as GoQSystem describes 「時間がたつと
    【与信NG】に変更されます」: the provider's transaction is cancelled, then the payment moves
    ``pending_review → declined`` with a Japanese reason. If the cancel's outcome is unknown the payment
    stays held until :func:`refresh` learns it (then it is declined the same way)."""
    timeout = hold_timeout(payment.account)
    hours = int(timeout.total_seconds() // 3600)

    def ensure(p: Payment) -> None:
        if p.state != S.PENDING_REVIEW or not hold_expired(p, now=now):
            raise InvalidTransition(
                _("与信保留の期限(%(hours)s時間)に達していないため、与信NGにはできません。") % {"hours": hours},
                current=p.state_enum,
                action=Action.CANCEL,
            )

    message = _(
        "与信保留が%(hours)s時間以内に解消されなかったため、決済会社の取引を取り消し、与信NGとしました。"
        "注文内容を確認のうえ、別の支払方法をご案内するか、注文情報を修正して再度与信を実行してください。"
    ) % {"hours": hours}
    return _run(
        payment,
        Action.CANCEL,
        amount=payment.amount,
        actor=actor,
        ensure=ensure,
        data={"hold_timeout": True, "hold_timeout_hours": hours, "decline_message": message},
        call=lambda p: p.cancel(payment.provider_ref),
    )


def _hold_timeout_view(payment: Payment, snap: TransactionSnapshot) -> TransactionSnapshot:
    """A held payment whose transaction was cancelled by :func:`expire_hold` (answered now, or learnt by a
    refresh after an unknown outcome) is declined, not cancelled."""
    if payment.state != S.PENDING_REVIEW or snap.status is not ProviderStatus.CANCELLED:
        return snap
    op = (
        payment.operations.filter(kind=Action.CANCEL, result=R.SUCCEEDED, data__hold_timeout=True)
        .order_by("-created_at")
        .first()
    )
    if op is None:
        return snap
    return replace(
        snap,
        status=ProviderStatus.DECLINED,
        decline_code=HOLD_TIMEOUT_CODE,
        decline_message=str((op.data or {}).get("decline_message") or _("与信保留の期限切れにより与信NGとしました。")),
    )
