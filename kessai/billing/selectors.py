"""Read paths of the billing app. Every selector takes the shop first (tenant isolation by construction)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from kessai.billing.models import CycleStatus, Subscription, SubscriptionCycle
from kessai.payments.models import Payment
from kessai.shops.errors import NotFound
from kessai.shops.models import Shop


def subscriptions(shop: Shop, *, status: str = "", errors_only: bool = False, q: str = "") -> QuerySet[Subscription]:
    """継続課金会員リスト: newest first, annotated with ``has_error`` (a cycle in 決済エラー)."""
    failed = SubscriptionCycle.objects.filter(subscription=OuterRef("pk"), status=CycleStatus.FAILED)
    qs = (
        Subscription.objects.filter(shop=shop)
        .select_related("account", "payment_method")
        .annotate(has_error=Exists(failed))
        .order_by("-id")
    )
    if status:
        qs = qs.filter(status=status)
    if errors_only:
        qs = qs.filter(has_error=True)
    if q:
        qs = qs.filter(order_no__icontains=q) | qs.filter(customer_name__icontains=q) | qs.filter(member_no=q)
    return qs


def get_subscription(shop: Shop, subscription_id: str) -> Subscription:
    sub = Subscription.objects.select_related("account", "payment_method").filter(shop=shop, pk=subscription_id).first()
    if sub is None:
        raise NotFound(subscription_id)
    return sub


def cycles(shop: Shop, sub: Subscription) -> QuerySet[SubscriptionCycle]:
    """The per-charge history, oldest first, each cycle with every attempt's payment (its order's payments)."""
    return (
        SubscriptionCycle.objects.filter(shop=shop, subscription=sub)
        .select_related("payment", "order")
        .order_by("cycle_date")
    )


def attempts(shop: Shop, cycle: SubscriptionCycle) -> QuerySet[Payment]:
    if cycle.order_id is None:
        return Payment.objects.none()
    return Payment.objects.filter(shop=shop, order_id=cycle.order_id).order_by("created_at", "id")


def get_cycle(shop: Shop, cycle_id: str) -> SubscriptionCycle:
    cycle = SubscriptionCycle.objects.select_related("subscription", "payment").filter(shop=shop, pk=cycle_id).first()
    if cycle is None:
        raise NotFound(cycle_id)
    return cycle


def subscription_of_payment(shop: Shop, payment: Payment) -> Subscription | None:
    """The subscription a charge belongs to (for the 決済情報 page's way back)."""
    cycle = (
        SubscriptionCycle.objects.filter(shop=shop, order_id=payment.order_id).select_related("subscription").first()
    )
    return cycle.subscription if cycle else None


__all__ = ["attempts", "cycles", "get_cycle", "get_subscription", "subscription_of_payment", "subscriptions"]
