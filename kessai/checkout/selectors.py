"""Read paths of the hosted checkout. The buyer has no shop session: the payment's unguessable
``checkout_token`` is the capability, and it reaches exactly one payment."""

from __future__ import annotations

from django.db.models import QuerySet

from kessai.payments.models import Payment
from kessai.payments.state import PaymentState
from kessai.shops.models import PaymentMethod, Shop


def payment_for_checkout(token: str) -> Payment | None:
    if not token:
        return None
    return (
        Payment.objects.select_related("shop", "order", "account", "payment_method")
        .filter(checkout_token=token)
        .first()
    )


def active_methods(shop: Shop) -> QuerySet[PaymentMethod]:
    """The shop's payment methods in use (使用), in the shop's sort order (as Welcart shows them)."""
    return (
        PaymentMethod.objects.select_related("provider_account")
        .filter(shop=shop, active=True, provider_account__active=True)
        .order_by("sort", "created_at")
    )


def other_active_payment(payment: Payment) -> Payment | None:
    """Another payment of the same order that already holds money (authorized or beyond)."""
    return (
        Payment.objects.filter(order_id=payment.order_id)
        .exclude(pk=payment.pk)
        .exclude(state__in=[PaymentState.CREATED, PaymentState.DECLINED, PaymentState.CANCELLED])
        .first()
    )
