"""Read paths. Every selector takes the shop first: another shop's rows are unreachable by construction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from kessai.common.text import normalize, normalize_digits
from kessai.payments.models import Operation, Order, Payment, PaymentError
from kessai.shops.errors import NotFound
from kessai.shops.models import ProviderAccount, Shop


def get_order(shop: Shop, order_id: str) -> Order:
    order = Order.objects.filter(shop=shop, pk=order_id).first()
    if order is None:
        raise NotFound(order_id)
    return order


def get_payment(shop: Shop, payment_id: str) -> Payment:
    payment = Payment.objects.select_related("order", "account").filter(shop=shop, pk=payment_id).first()
    if payment is None:
        raise NotFound(payment_id)
    return payment


def payment_operations(shop: Shop, payment: Payment) -> QuerySet[Operation]:
    return Operation.objects.filter(payment__shop=shop, payment=payment).order_by("created_at", "id")


@dataclass(frozen=True)
class OrderFilter:
    state: str = ""
    provider: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str = ""
    needs_review: bool | None = None


def orders(shop: Shop, flt: OrderFilter | None = None) -> QuerySet[Order]:
    """Newest first (ids are time-ordered). Filters by payment state/provider, date range, free text on
    注文番号 / 氏名 / 電話番号 / 決済ID."""
    qs = Order.objects.filter(shop=shop)
    flt = flt or OrderFilter()
    if flt.state:
        qs = qs.filter(payments__state=flt.state)
    if flt.provider:
        qs = qs.filter(payments__provider=flt.provider)
    if flt.created_from:
        qs = qs.filter(created_at__gte=flt.created_from)
    if flt.created_to:
        qs = qs.filter(created_at__lt=flt.created_to)
    if flt.needs_review is not None:
        qs = qs.filter(needs_review=flt.needs_review)
    if flt.q:
        text = normalize(flt.q)
        digits = normalize_digits(flt.q)
        match = (
            Q(shop_order_no=text)
            | Q(customer_name__contains=text)
            | Q(customer_phone=digits)
            | Q(payments__provider_ref=text)
        )
        qs = qs.filter(match)
    if flt.state or flt.provider or flt.q:
        qs = qs.distinct()
    return qs.order_by("-id")


def payments(shop: Shop) -> QuerySet[Payment]:
    return Payment.objects.filter(shop=shop).order_by("-id")


def payment_errors(shop: Shop) -> QuerySet[PaymentError]:
    return PaymentError.objects.filter(shop=shop).order_by("-created_at", "-id")


def find_payment_by_ref(shop: Shop, account: ProviderAccount, provider_ref: str) -> Payment | None:
    """The payment that has (or had) this provider transaction id, superseded ids included."""
    if not provider_ref:
        return None
    return (
        Payment.objects.select_related("order", "account")
        .filter(shop=shop, references__account=account, references__ref=provider_ref)
        .first()
    )
