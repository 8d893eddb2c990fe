"""The 「決済情報」 dialog: 売上計上, 取消, 金額変更 (取引修正), 再決済, 最新の状態を取得.

Each action calls the payment service; errors come back in Japanese inside the dialog (htmx) or as a
message on the order page (plain form post)."""

from __future__ import annotations

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
from kessai.payments import selectors as payment_selectors
from kessai.payments import services as payment_services
from kessai.payments.models import Order, Payment
from kessai.payments.state import ALLOWED_FROM, Action, InvalidTransition, PaymentState
from kessai.providers.base import ProviderError
from kessai.shops.errors import NotFound, ValidationFailed
from kessai.shops.models import PaymentMethod

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

S = PaymentState
EXTRA_LINES = 2


def payment_info_context(staff: Staff, order: Order, payment: Payment | None) -> dict[str, Any]:
    caps = capabilities.for_account(payment.account) if payment else None
    state = PaymentState(payment.state) if payment else None
    operations = list(payment_selectors.payment_operations(staff.shop, payment)) if payment else []
    can = staff.can_operate
    show: dict[str, bool] = {}
    if payment is not None and caps is not None and state is not None:
        show = {
            "capture": caps.capture and state in ALLOWED_FROM[Action.CAPTURE],
            "cancel": state in ALLOWED_FROM[Action.CANCEL] and (state != S.CAPTURED or caps.cancel_after_capture),
            "change_amount": caps.change_amount and state in ALLOWED_FROM[Action.CHANGE_AMOUNT],
            "refresh": bool(payment.provider_ref) and state in ALLOWED_FROM[Action.REFRESH],
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
    """A dialog button that runs one payment service with no input (売上計上, 取消, 最新の状態を取得)."""

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
refresh = _operation_view("refresh", payment_services.refresh, gettext_lazy("最新の状態を取得しました。"))


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
