"""The 「決済情報」 dialog: 売上計上, 取消, 金額変更 (取引修正), 再決済, 最新の状態を取得 (with a 取引ID found in the
provider's console while the hub may be missing one), 取引なしとして閉じる.

Each action calls the payment service; errors come back in Japanese inside the dialog (htmx) or as a
message on the order page (plain form post)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kessai.backoffice import capabilities, services
from kessai.backoffice.access import Staff, is_htmx, staff_view
from kessai.backoffice.views.common import error_message, int_or_raw, page
from kessai.common.text import normalize
from kessai.payments import selectors as payment_selectors
from kessai.payments import services as payment_services
from kessai.payments.models import OperationResult, Order, Payment
from kessai.payments.state import ALLOWED_FROM, Action, InvalidTransition, PaymentState
from kessai.providers.base import ProviderError
from kessai.shops.errors import NotFound, ValidationFailed
from kessai.shops.models import PaymentMethod

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

S = PaymentState
EXTRA_LINES = 2
# A provider's transaction id as typed by staff (after NFKC): printable ASCII without spaces, as long as the
# payment's ``provider_ref`` column allows.
PROVIDER_REF_MAX = Payment._meta.get_field("provider_ref").max_length or 100
PROVIDER_REF_RE = re.compile(r"[\x21-\x7e]+")


def payment_info_context(staff: Staff, order: Order, payment: Payment | None) -> dict[str, Any]:
    caps = capabilities.for_account(payment.account) if payment else None
    state = PaymentState(payment.state) if payment else None
    operations = list(payment_selectors.payment_operations(staff.shop, payment)) if payment else []
    can = staff.can_operate
    show: dict[str, bool] = {}
    if payment is not None and caps is not None and state is not None:
        # The services' own predicates read the open operations again: only asked when the history has any.
        unsettled = any(op.result in (OperationResult.UNKNOWN, OperationResult.PENDING) for op in operations)
        awaiting_ref = unsettled and payment_services.awaiting_provider_ref(payment)
        show = {
            "capture": caps.capture and state in ALLOWED_FROM[Action.CAPTURE],
            "cancel": state in ALLOWED_FROM[Action.CANCEL] and (state != S.CAPTURED or caps.cancel_after_capture),
            "change_amount": caps.change_amount and state in ALLOWED_FROM[Action.CHANGE_AMOUNT],
            "refresh": (bool(payment.provider_ref) or awaiting_ref) and state in ALLOWED_FROM[Action.REFRESH],
            # 取引ID input: an unresolved operation may have created a transaction the hub has no id for
            "refresh_ref": awaiting_ref and state in ALLOWED_FROM[Action.REFRESH],
            "close_unregistered": unsettled and payment_services.can_close_unregistered(payment),
        }
    retry = payment is not None and state in (S.DECLINED, S.CREATED)
    lines = [dict(item) for item in order.items] + [
        {"sku": "", "name": "", "unit_price": "", "quantity": ""} for _ in range(EXTRA_LINES)
    ]
    return {
        "order": order,
        "payment": payment,
        "caps": caps,
        "operations": operations,
        "show": show,
        "can_operate": can,
        "retry": retry,
        "retry_methods": list(PaymentMethod.objects.filter(shop=staff.shop, active=True).order_by("sort", "created_at"))
        if retry
        else [],
        "lines": lines,
        "cancelled": state == S.CANCELLED,
        "provider_ref_max": PROVIDER_REF_MAX,
    }


def _payment_or_404(staff: Staff, payment_id: str) -> Payment:
    try:
        return payment_selectors.get_payment(staff.shop, payment_id)
    except NotFound:
        raise Http404(_("決済が見つかりません。")) from None


def _respond(
    request: HttpRequest, staff: Staff, payment: Payment, *, ok: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    order = Order.objects.get(pk=payment.order_id)
    if is_htmx(request):
        latest = Payment.objects.filter(order=order).select_related("account", "payment_method").order_by("-id").first()
        context = {**payment_info_context(staff, order, latest), "ok_message": ok, "error_message": error}
        return page(request, staff, "backoffice/orders/partials/payment_info.html", context, status=status)
    if ok:
        messages.success(request, ok)
    if error:
        messages.error(request, error)
    return redirect("backoffice:order_detail", order_id=order.pk)


def _run(
    request: HttpRequest,
    staff: Staff,
    payment: Payment,
    action: str,
    call: Callable[[], Payment],
    ok: str,
) -> HttpResponse:
    before = services.payment_snapshot(payment)
    try:
        result = call()
    except (ProviderError, InvalidTransition, ValidationFailed) as exc:
        payment.refresh_from_db()
        services.record(
            staff.actor,
            staff.shop,
            f"payment.{action}",
            target_type="payment",
            target_id=payment.pk,
            before=before,
            after={**services.payment_snapshot(payment), "error": error_message(exc)},
        )
        status = 409 if isinstance(exc, InvalidTransition) else 400 if isinstance(exc, ValidationFailed) else 422
        return _respond(request, staff, payment, error=error_message(exc), status=status)
    result.refresh_from_db()
    services.record(
        staff.actor,
        staff.shop,
        f"payment.{action}",
        target_type="payment",
        target_id=payment.pk,
        before=before,
        after=services.payment_snapshot(result),
    )
    return _respond(request, staff, result, ok=ok)


def _post_only(request: HttpRequest, staff: Staff, payment_id: str) -> Payment | HttpResponse:
    payment = _payment_or_404(staff, payment_id)
    if request.method != "POST":
        return redirect("backoffice:order_detail", order_id=payment.order_id)
    return payment


def _operation_view(kind: str, service: Callable[..., Payment], done: StrOrPromise) -> Callable[..., HttpResponseBase]:
    """A dialog button that runs one payment service with no input (売上計上, 取消, 取引なしとして閉じる)."""

    @staff_view()
    def view(request: HttpRequest, staff: Staff, payment_id: str) -> HttpResponse:
        payment = _post_only(request, staff, payment_id)
        if isinstance(payment, HttpResponse):
            return payment
        return _run(request, staff, payment, kind, lambda: service(payment, actor=staff.actor.label), str(done))

    view.__name__ = view.__qualname__ = kind
    return view


capture = _operation_view("capture", payment_services.capture, gettext_lazy("売上計上しました。"))
cancel = _operation_view(
    "cancel",
    payment_services.cancel,
    gettext_lazy("決済を取り消しました。受注の対応状況は必要に応じて別途変更してください。"),
)
close_unregistered = _operation_view(
    "close_unregistered",
    payment_services.close_unregistered,
    gettext_lazy("取引なしとして閉じました。この受注は再決済できます。"),
)


def clean_provider_ref(value: str) -> str:
    """The 取引ID typed by staff: NFKC (full-width letters and digits become half-width) and trimmed; ``""`` when
    left empty. Raises :class:`ValidationFailed` with a Japanese message for anything that cannot be an id."""
    ref = normalize(value or "")
    if ref and (len(ref) > PROVIDER_REF_MAX or not PROVIDER_REF_RE.fullmatch(ref)):
        message = _("取引IDは半角英数字・記号%(max)d文字以内で入力してください(空白は使えません)。")
        raise ValidationFailed({"provider_ref": message % {"max": PROVIDER_REF_MAX}})
    return ref


@staff_view()
def refresh(request: HttpRequest, staff: Staff, payment_id: str) -> HttpResponse:
    """最新の状態を取得, optionally naming the transaction staff found in the provider's console (取引ID)."""
    payment = _post_only(request, staff, payment_id)
    if isinstance(payment, HttpResponse):
        return payment
    try:
        ref = clean_provider_ref(request.POST.get("provider_ref", ""))
    except ValidationFailed as exc:
        return _respond(request, staff, payment, error=error_message(exc), status=400)
    return _run(
        request,
        staff,
        payment,
        "refresh",
        lambda: payment_services.refresh(payment, actor=staff.actor.label, provider_ref=ref),
        _("最新の状態を取得しました。"),
    )


@staff_view()
def change_amount(request: HttpRequest, staff: Staff, payment_id: str) -> HttpResponse:
    payment = _post_only(request, staff, payment_id)
    if isinstance(payment, HttpResponse):
        return payment
    skus, names = request.POST.getlist("sku"), request.POST.getlist("name")
    prices, quantities = request.POST.getlist("unit_price"), request.POST.getlist("quantity")
    items: list[Mapping[str, Any]] = [
        {"sku": sku, "name": name, "unit_price": int_or_raw(price), "quantity": int_or_raw(qty)}
        for sku, name, price, qty in zip(skus, names, prices, quantities, strict=False)
        if any(v.strip() for v in (sku, name, price, qty))
    ]
    amount = int_or_raw(request.POST.get("amount", ""))
    if not isinstance(amount, int):
        return _respond(request, staff, payment, error=_("利用金額は半角数字(円)で入力してください。"), status=400)
    return _run(
        request,
        staff,
        payment,
        "change_amount",
        lambda: payment_services.change_amount(payment, amount=amount, items=items, actor=staff.actor.label),
        _("利用金額を変更しました。"),
    )


@staff_view()
def retry(request: HttpRequest, staff: Staff, payment_id: str) -> HttpResponse:
    """再決済: a new payment for the order (the failed one stays in the history)."""
    payment = _post_only(request, staff, payment_id)
    if isinstance(payment, HttpResponse):
        return payment
    if payment.state not in (S.DECLINED, S.CREATED):
        return _respond(
            request, staff, payment, error=_("再決済できるのは与信NGまたは未決済の決済だけです。"), status=409
        )
    method_ref = request.POST.get("payment_method", "")

    def start() -> Payment:
        return payment_services.start_payment(payment.order, method_ref=method_ref, actor=staff.actor.label).payment

    return _run(request, staff, payment, "retry", start, _("再決済を実行しました。"))
