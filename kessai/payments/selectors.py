"""Read paths. Every selector takes the shop first: another shop's rows are unreachable by construction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from kessai.common.text import normalize, normalize_digits
from kessai.payments.models import BulkJob, Operation, OperationResult, Order, Payment, PaymentError
from kessai.payments.state import PaymentState
from kessai.providers import registry
from kessai.providers.credentials import UnknownProvider
from kessai.shops.errors import NotFound
from kessai.shops.models import FeeRule, PaymentMethod, ProviderAccount, Shop


def get_order(shop: Shop, order_id: str) -> Order:
    order = Order.objects.filter(shop=shop, pk=order_id).first()
    if order is None:
        raise NotFound(order_id)
    order.shop = shop  # known: saves the query a later ``order.shop`` would make
    return order


def get_payment(shop: Shop, payment_id: str) -> Payment:
    payment = Payment.objects.select_related("order", "account").filter(shop=shop, pk=payment_id).first()
    if payment is None:
        raise NotFound(payment_id)
    payment.shop = payment.order.shop = shop  # known: saves the queries of a later ``.shop``
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
    # Semi-joins (EXISTS) rather than JOIN + DISTINCT: the newest-first index walk stops after one page.
    if flt.state:
        qs = qs.filter(Exists(Payment.objects.filter(order=OuterRef("pk"), state=flt.state)))
    if flt.provider:
        qs = qs.filter(Exists(Payment.objects.filter(order=OuterRef("pk"), provider=flt.provider)))
    if flt.created_from:
        qs = qs.filter(created_at__gte=flt.created_from)
    if flt.created_to:
        qs = qs.filter(created_at__lt=flt.created_to)
    if flt.needs_review is not None:
        qs = qs.filter(needs_review=flt.needs_review)
    if flt.q:
        text = normalize(flt.q)
        digits = normalize_digits(flt.q)
        exact_ids = (
            set(Order.objects.filter(shop=shop, shop_order_no=text).values_list("pk", flat=True))
            | set(Order.objects.filter(shop=shop, customer_phone=digits).values_list("pk", flat=True))
            | set(Payment.objects.filter(shop=shop, provider_ref=text).values_list("order_id", flat=True))
        )
        if any(ch.isdigit() for ch in text):
            # 注文番号 / 電話番号 / 決済ID: exact lookups through their indexes, resolved first so the list
            # query stays a primary-key lookup (an OR across columns would scan the shop's orders).
            qs = qs.filter(pk__in=exact_ids)
        else:
            # 氏名: a partial match (walks the newest-first index until a page is full).
            qs = qs.filter(Q(pk__in=exact_ids) | Q(customer_name__contains=text))
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


def find_payment_by_transaction_no(shop: Shop, account: ProviderAccount, shop_transaction_no: str) -> Payment | None:
    """The payment sent to the provider under this ``shop_transaction_no`` (unique per account)."""
    if not shop_transaction_no:
        return None
    return (
        Payment.objects.select_related("order", "account")
        .filter(shop=shop, account=account, shop_transaction_no=shop_transaction_no)
        .first()
    )


# --------------------------------------------------------------------------- environment-scoped reads (API keys)


def with_payments(orders_qs: QuerySet[Order], *, environment: str) -> QuerySet[Order]:
    """Prefetch each order's payments of one environment into ``order.env_payments``."""
    payments_qs = Payment.objects.filter(account__environment=environment).order_by("id")
    return orders_qs.prefetch_related(Prefetch("payments", queryset=payments_qs, to_attr="env_payments"))


def order_payments(shop: Shop, order: Order, *, environment: str | None = None) -> QuerySet[Payment]:
    qs = Payment.objects.filter(shop=shop, order=order)
    if environment is not None:
        qs = qs.filter(account__environment=environment)
    return qs.order_by("id")


def get_payment_in(shop: Shop, payment_id: str, *, environment: str) -> Payment:
    """A payment whose provider account is in ``environment`` (a test key never sees live payments)."""
    payment = get_payment(shop, payment_id)
    if payment.account.environment != environment:
        raise NotFound(payment_id)
    return payment


def payment_ids_in(shop: Shop, ids: list[str], *, environment: str) -> set[str]:
    return set(
        Payment.objects.filter(shop=shop, pk__in=ids, account__environment=environment).values_list("pk", flat=True)
    )


def get_bulk_job(shop: Shop, job_id: str, *, environment: str | None = None) -> BulkJob:
    job = BulkJob.objects.filter(shop=shop, pk=job_id).first()
    if job is None:
        raise NotFound(job_id)
    if environment is not None and job.payment_ids:
        first = Payment.objects.filter(shop=shop, pk=job.payment_ids[0]).values_list("account__environment", flat=True)
        if first.first() not in (None, environment):
            raise NotFound(job_id)
    return job


def payment_errors_in(shop: Shop, *, environment: str) -> QuerySet[PaymentError]:
    """決済エラーログ of one environment (entries without an account are shown in both)."""
    return payment_errors(shop).filter(Q(account__environment=environment) | Q(account__isnull=True))


def get_payment_error(shop: Shop, error_id: str, *, environment: str) -> PaymentError:
    error = payment_errors_in(shop, environment=environment).filter(pk=error_id).first()
    if error is None:
        raise NotFound(error_id)
    return error


def provider_accounts(shop: Shop, *, environment: str | None = None) -> QuerySet[ProviderAccount]:
    qs = ProviderAccount.objects.filter(shop=shop)
    if environment is not None:
        qs = qs.filter(environment=environment)
    return qs.order_by("-id")


def get_provider_account(shop: Shop, account_id: str, *, environment: str | None = None) -> ProviderAccount:
    account = provider_accounts(shop, environment=environment).filter(pk=account_id).first()
    if account is None:
        raise NotFound(account_id)
    return account


def payment_methods(shop: Shop, *, environment: str | None = None) -> QuerySet[PaymentMethod]:
    qs = PaymentMethod.objects.select_related("provider_account").filter(shop=shop)
    if environment is not None:
        qs = qs.filter(provider_account__environment=environment)
    return qs.order_by("sort", "created_at", "id")


def get_payment_method(shop: Shop, method_id: str, *, environment: str | None = None) -> PaymentMethod:
    method = payment_methods(shop, environment=environment).filter(pk=method_id).first()
    if method is None:
        raise NotFound(method_id)
    return method


def fee_rule(shop: Shop, provider: str) -> FeeRule | None:
    return FeeRule.objects.filter(shop=shop, provider=provider).first()


# --------------------------------------------------------------------------- 出荷報告待ち (unreported shipments)


@dataclass(frozen=True)
class UnreportedShipment:
    """One payment waiting for its shipment report, and how long it has waited."""

    payment: Payment
    authorized_at: datetime  # when the provider first answered 与信OK (the payment's creation if unknown)
    age_days: int  # Asia/Tokyo calendar days since then (0 = authorized today)


def _bills_on_shipment(code: str) -> bool:
    try:
        capabilities = getattr(registry.adapter_class(code), "capabilities", None)
    except UnknownProvider:
        return False
    return capabilities is not None and bool(capabilities.capture_requires_shipment)


def unreported_shipments(
    shop: Shop, *, now: datetime | None = None, limit: int | None = None
) -> list[UnreportedShipment]:
    """Payments of providers that bill on the shipment report (NP後払い, GMO後払い: ``capture_requires_shipment``)
    that are 与信OK but not reported yet, oldest first, with their age in days. A captured payment whose
    transaction was replaced (NP's re-registration after a partial return) is listed too until its new
    transaction is reported."""
    candidates = Payment.objects.filter(
        shop=shop, shipment_reported=False, state__in=[PaymentState.AUTHORIZED, PaymentState.CAPTURED]
    )
    providers = [code for code in candidates.values_list("provider", flat=True).distinct() if _bills_on_shipment(code)]
    first_ok = (
        Operation.objects.filter(
            payment=OuterRef("pk"),
            result=OperationResult.SUCCEEDED,
            data__provider_status=PaymentState.AUTHORIZED.value,
        )
        .order_by("completed_at")
        .values("completed_at")[:1]
    )
    rows = (
        candidates.filter(provider__in=providers)
        .select_related("order", "account")
        .annotate(authorized_at=Coalesce(Subquery(first_ok), "created_at"))
        .order_by("authorized_at", "id")
    )
    if limit is not None:
        rows = rows[:limit]
    today = timezone.localdate(now or timezone.now())
    return [
        UnreportedShipment(
            payment=row,
            authorized_at=row.authorized_at,
            age_days=(today - timezone.localdate(row.authorized_at)).days,
        )
        for row in rows
    ]
