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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kessai.payments import events
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
from kessai.payments.orders import _Errors, check_amount, clean_items
from kessai.payments.state import Action, InvalidTransition, PaymentState, check_transition, ensure_allowed
from kessai.providers.base import (
    Customer,
    Destination,
    LineItem,
    OrderData,
    Provider,
    ProviderDeclined,
    ProviderError,
    ProviderPending,
    ProviderStatus,
    ProviderUnavailable,
    Shipment,
    TransactionSnapshot,
)
from kessai.shops.errors import ValidationFailed
from kessai.shops.models import PaymentMethod, ProviderAccount

log = logging.getLogger(__name__)

# A pending operation older than this is presumed abandoned (its process died mid-call) and is
# treated as unknown: refresh may settle it.
STALE_PENDING_AFTER = timedelta(minutes=5)

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
    if not caps.min_amount <= order.amount <= caps.max_amount:
        raise ValidationFailed(
            {
                "amount": _("この支払方法でご利用いただける金額は%(min)s〜%(max)s円です。")
                % {"min": f"{caps.min_amount:,}", "max": f"{caps.max_amount:,}"}
            },
            code="amount_over_provider_limit",
            field_codes={"amount": "amount_over_provider_limit"},
        )
    if Payment.objects.filter(order=order).exclude(state__in=[S.DECLINED, S.CANCELLED, S.CREATED]).exists():
        raise ValidationFailed({"order": _("この注文には有効な決済が既にあります。")}, code="order_already_paid")
    attempt = Payment.objects.filter(order=order).count() + 1
    payment = Payment.objects.create(
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
    if authentication_token:
        charge_with_token(payment, token=authentication_token, actor=actor)
        payment.refresh_from_db()
        return StartResult(payment=payment, requires_action=False)
    if caps.browser_checkout:
        return StartResult(payment=payment, requires_action=True)
    authorize(payment, actor=actor)
    payment.refresh_from_db()
    return StartResult(payment=payment, requires_action=False)


def checkout_widget(payment: Payment) -> dict[str, Any]:
    """Widget config for the hosted checkout (or a cart's own page): never contains the secret key."""
    account = payment.account
    token = (
        BuyerToken.objects.filter(account=account, customer_key=customer_key(payment.order))
        .values_list("token", flat=True)
        .first()
    ) or ""
    config = provider_for(account).checkout_config(
        order_data(payment), capture=payment.capture_mode == CaptureMode.IMMEDIATE, pre_token=token
    )
    return {"script_url": config.script_url, **dict(config.widget)}


def remember_buyer_token(payment: Payment, token: str, buyer_id: str = "") -> None:
    if not token:
        return
    BuyerToken.objects.update_or_create(
        account=payment.account,
        customer_key=customer_key(payment.order),
        defaults={"shop": payment.shop, "token": token, "buyer_id": buyer_id},
    )


# --------------------------------------------------------------------------- the three steps


def _begin(
    payment_id: str,
    action: Action,
    *,
    amount: int,
    actor: str,
    data: dict[str, Any] | None = None,
    ensure: Callable[[Payment], None] | None = None,
) -> tuple[Payment, Operation]:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("account", "order").get(pk=payment_id)
        ensure_allowed(action, payment.state_enum)
        in_flight = payment.operations.filter(result__in=[R.PENDING, R.UNKNOWN]).order_by("created_at")
        if action is not Action.REFRESH:
            blocking = in_flight.first()
            if blocking is not None and blocking.result == R.PENDING and not _is_stale(blocking):
                raise PaymentBusy(
                    _("この決済は処理中です。しばらくしてから再度お試しください。"),
                    current=payment.state_enum,
                    action=action,
                )
            if blocking is not None:
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
            data=data or {},
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
            _fail(payment.pk, op.pk, exc)
            raise
        return exc.snapshot
    except ProviderError as exc:
        _fail(payment.pk, op.pk, exc)
        raise


def _fail(payment_id: str, op_id: str, exc: ProviderError) -> None:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        op = Operation.objects.select_for_update().get(pk=op_id)
        unknown = isinstance(exc, ProviderUnavailable)
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
        elif kind is Action.CHANGE_AMOUNT and isinstance(exc, ProviderDeclined):
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
    _move(payment, S.DECLINED)


def _remember_ref(payment: Payment, ref: str) -> None:
    if ref:
        ProviderReference.objects.get_or_create(account_id=payment.account_id, ref=ref, defaults={"payment": payment})


def _move(payment: Payment, target: PaymentState) -> None:
    check_transition(payment.state_enum, target)
    payment.state = target


def record_error(
    payment: Payment | None,
    op: Operation | None,
    exc: ProviderError,
    *,
    account: ProviderAccount | None = None,
) -> PaymentError:
    """決済エラーログ: every failed provider call, with code, message, request id (no credentials)."""
    acct = account or (payment.account if payment else None)
    assert acct is not None  # noqa: S101
    status = "unknown" if isinstance(exc, ProviderUnavailable) else type(exc).__name__
    return PaymentError.objects.create(
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


def _safe_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Provider payloads are kept for support; drop anything that looks like a credential."""
    banned = ("secret", "password", "key", "authorization", "token")
    return {k: v for k, v in dict(payload).items() if not any(b in k.lower() for b in banned)}


def _complete(payment_id: str, op_id: str, snap: TransactionSnapshot, *, data: dict[str, Any] | None = None) -> Payment:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("order").get(pk=payment_id)
        op = Operation.objects.select_for_update().get(pk=op_id)
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
        op.save()
        _apply_snapshot(payment, snap)
        if kind is Action.REPORT_SHIPMENT:
            payment.shipment_reported = True
        if snap.buyer_token:
            payment.buyer_token = snap.buyer_token
            remember_buyer_token(payment, snap.buyer_token)
        _check_ledger(payment)
        payment.save()
        events.publish(payment, _event_for(kind, payment))
        return payment


def _apply_snapshot(payment: Payment, snap: TransactionSnapshot) -> None:
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


def _flag(payment: Payment, reason: str) -> None:
    payment.needs_review = True
    if reason not in payment.review_reason:
        payment.review_reason = (f"{payment.review_reason} {reason}".strip())[:500]
    Order.objects.filter(pk=payment.order_id).update(needs_review=True)


def _check_ledger(payment: Payment) -> None:
    """The provider's balances must equal those replayed from our own history."""
    ours = replay(payment.operations.order_by("created_at", "id"))
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
    call: Callable[[Provider], TransactionSnapshot],
    data: dict[str, Any] | None = None,
    ensure: Callable[[Payment], None] | None = None,
) -> Payment:
    payment, op = _begin(payment.pk, action, amount=amount, actor=actor, data=data, ensure=ensure)
    snap = _call(payment, op, call)
    return _complete(payment.pk, op.pk, snap)


# --------------------------------------------------------------------------- operations


def authorize(payment: Payment, *, actor: str) -> Payment:
    """与信を実行: server-side authorization from the order data (providers that screen server-side)."""
    capture = payment.capture_mode == CaptureMode.IMMEDIATE
    return _run(
        payment,
        Action.AUTHORIZE,
        amount=payment.amount,
        actor=actor,
        call=lambda p: p.authorize(order_data(payment), capture=capture),
    )


def charge_with_token(payment: Payment, *, token: str, actor: str, kind: Action = Action.CHARGE) -> Payment:
    """Authorize with a stored buyer token (server-side atone / Paidy, 継続課金)."""
    capture = payment.capture_mode == CaptureMode.IMMEDIATE
    return _run(
        payment,
        kind,
        amount=payment.amount,
        actor=actor,
        call=lambda p: p.charge_token(token, order_data(payment), capture=capture),
    )


def confirm_checkout(payment: Payment, *, provider_ref: str, actor: str) -> Payment:
    """The buyer's widget reported a transaction id. The browser is only a hint: fetch it from the
    provider and check amount and shop_transaction_no before recording 与信OK / NG."""
    payment, op = _begin(payment.pk, Action.AUTHORIZE, amount=payment.amount, actor=actor, data={"source": actor})
    snap = _call(payment, op, lambda p: p.fetch(provider_ref))
    mismatch = []
    if snap.amount != payment.amount:
        mismatch.append(
            _("金額(プロバイダ: ¥%(theirs)s / 注文: ¥%(ours)s)")
            % {"theirs": f"{snap.amount:,}", "ours": f"{payment.amount:,}"}
        )
    if snap.shop_transaction_no and snap.shop_transaction_no != payment.shop_transaction_no:
        mismatch.append(_("取引番号"))
    payment = _complete(payment.pk, op.pk, snap)
    if mismatch:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=payment.pk)
            _flag(
                payment,
                _("注文内容と決済内容が一致しません: %(what)s。課金払戻(全額)で取り消してください。")
                % {"what": "、".join(str(m) for m in mismatch)},
            )
            payment.save()
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
    return result


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


def refresh(payment: Payment, *, actor: str) -> Payment:
    """最新の状態を取得: query the provider and reconcile. The only way an unknown outcome is settled."""
    if not payment.provider_ref:
        raise InvalidTransition(
            _("決済IDがまだないため、状態を取得できません。"),
            current=payment.state_enum,
            action=Action.REFRESH,
        )
    payment, op = _begin(payment.pk, Action.REFRESH, amount=payment.amount, actor=actor)
    snap = _call(payment, op, lambda p: p.fetch(payment.provider_ref))
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        _resolve_open_operations(locked, snap, exclude=op.pk)
        balances = {"amount": snap.amount, "captured": snap.captured_amount, "refunded": snap.refunded_amount}
        Operation.objects.filter(pk=op.pk).update(data={"balances": balances, "provider_status": snap.status.value})
    return _complete(payment.pk, op.pk, snap)


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
            done = snap.refunded_amount >= payment.refunded_amount + op.amount
        elif kind is Action.CHANGE_AMOUNT:
            done = snap.amount == op.amount
        elif kind is Action.REPORT_SHIPMENT:
            done = snap.shipment_reported
        else:
            done = False
        op.result = R.SUCCEEDED if done else R.FAILED
        op.message = (op.message + " " + _("状態確認により確定しました。")).strip()[:500]
        op.completed_at = timezone.now()
        op.save(update_fields=["result", "message", "completed_at"])


def resolve_refresh_targets(limit: int = 100) -> list[str]:
    """Payments with an unknown (or stale pending) operation: the janitor refreshes them."""
    stale = timezone.now() - STALE_PENDING_AFTER
    ids = (
        Operation.objects.filter(result=R.UNKNOWN)
        .values_list("payment_id", flat=True)
        .union(Operation.objects.filter(result=R.PENDING, created_at__lt=stale).values_list("payment_id", flat=True))
    )
    return list(ids[:limit])
