"""Back-office read paths. Like every selector, each takes the shop first."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from kessai.backoffice.models import AuditEntry
from kessai.common.jst import JST, now_jst
from kessai.payments import selectors as payment_selectors
from kessai.payments.models import Operation, OperationResult, Order, Payment, PaymentError
from kessai.payments.selectors import OrderFilter
from kessai.payments.state import Action, PaymentState
from kessai.shops.models import Shop

PAGE_SIZE = 50
S = PaymentState

OK_STATES = (S.AUTHORIZED, S.CAPTURED)
NG_STATES = (S.DECLINED,)
HELD_STATES = (S.PENDING_REVIEW,)


def id_floor(prefix: str, moment: datetime) -> str:
    """The smallest prefixed ULID minted at ``moment``: ``id >= id_floor(...)`` is a time range on the
    primary key (ids are time-ordered), so no created_at index is needed."""
    ms = int(moment.timestamp() * 1000)
    value = ms << 80
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    chars = []
    for _ in range(26):
        chars.append(alphabet[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def error_banner_since(shop: Shop) -> datetime | None:
    """When the newest 決済エラーログ entry was written (the red banner shows while any exists)."""
    return PaymentError.objects.filter(shop=shop).order_by("-created_at").values_list("created_at", flat=True).first()


# --------------------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class Tally:
    ok_count: int = 0
    ok_amount: int = 0
    ng_count: int = 0
    ng_amount: int = 0
    held_count: int = 0
    held_amount: int = 0
    captured_amount: int = 0

    @property
    def screened(self) -> int:
        return self.ok_count + self.ng_count + self.held_count

    @property
    def ng_rate(self) -> float:
        return self.ng_count / self.screened if self.screened else 0.0


@dataclass(frozen=True)
class DayBar:
    day: date
    ok: int
    ng: int
    held: int

    @property
    def total(self) -> int:
        return self.ok + self.ng + self.held


@dataclass(frozen=True)
class Dashboard:
    today: Tally
    month: Tally
    providers: list[tuple[str, Tally]]
    days: list[DayBar]
    max_day: int = field(default=0)


def _payments_since(shop: Shop, since: datetime) -> QuerySet[Payment]:
    return Payment.objects.filter(shop=shop, id__gte=id_floor("pay", since))


def _tally(qs: QuerySet[Payment], captured: int) -> Tally:
    agg = qs.aggregate(
        ok_count=Count("id", filter=Q(state__in=OK_STATES)),
        ok_amount=Sum("amount", filter=Q(state__in=OK_STATES)),
        ng_count=Count("id", filter=Q(state__in=NG_STATES)),
        ng_amount=Sum("amount", filter=Q(state__in=NG_STATES)),
        held_count=Count("id", filter=Q(state__in=HELD_STATES)),
        held_amount=Sum("amount", filter=Q(state__in=HELD_STATES)),
    )
    return Tally(**{k: int(v or 0) for k, v in agg.items()}, captured_amount=captured)


def _captured_since(shop: Shop, since: datetime, provider: str | None = None) -> int:
    """Money captured in the period: succeeded captures plus authorizations that captured at once (即時売上確定)."""
    ops = Operation.objects.filter(
        payment__shop=shop, result=OperationResult.SUCCEEDED, created_at__gte=since, id__gte=id_floor("op", since)
    ).filter(Q(kind=Action.CAPTURE) | Q(kind__in=[Action.AUTHORIZE, Action.CHARGE], data__captured=True))
    if provider:
        ops = ops.filter(payment__provider=provider)
    return int(ops.aggregate(total=Sum("amount"))["total"] or 0)


def dashboard(shop: Shop, *, now: datetime | None = None) -> Dashboard:
    """今日 / 今月 (JST) counts by the payments' current state, captured money, NG rate per provider,
    and the last 30 days as stacked bars."""
    now = (now or now_jst()).astimezone(JST)
    today_start = datetime.combine(now.date(), time.min, tzinfo=JST)
    month_start = today_start.replace(day=1)
    window_start = today_start - timedelta(days=29)
    today = _tally(_payments_since(shop, today_start), _captured_since(shop, today_start))
    month_qs = _payments_since(shop, month_start)
    month = _tally(month_qs, _captured_since(shop, month_start))
    providers = [
        (code, _tally(month_qs.filter(provider=code), _captured_since(shop, month_start, code)))
        for code in month_qs.order_by().values_list("provider", flat=True).distinct()
    ]
    rows = (
        _payments_since(shop, window_start)
        .annotate(day=TruncDate("created_at", tzinfo=JST))
        .values("day")
        .annotate(
            ok=Count("id", filter=Q(state__in=OK_STATES)),
            ng=Count("id", filter=Q(state__in=NG_STATES)),
            held=Count("id", filter=Q(state__in=HELD_STATES)),
        )
        .order_by("day")
    )
    by_day: dict[date, dict[str, Any]] = {r["day"]: dict(r) for r in rows}
    days = []
    for i in range(30):
        d = window_start.date() + timedelta(days=i)
        r: dict[str, Any] = by_day.get(d, {})
        days.append(DayBar(d, r.get("ok", 0), r.get("ng", 0), r.get("held", 0)))
    return Dashboard(
        today=today,
        month=month,
        providers=sorted(providers),
        days=days,
        max_day=max((d.total for d in days), default=0),
    )


# --------------------------------------------------------------------------- 受注リスト


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    next_after: str | None  # id to pass as ?after= for the next (older) page
    prev_before: str | None  # id to pass as ?before= for the previous (newer) page


def _with_latest_payment(orders: Sequence[Order]) -> list[Order]:
    """Attach ``order.latest_payment`` (the newest payment, or None) with one query for the page."""
    ids = [o.pk for o in orders]
    latest: dict[str, Payment] = {}
    if ids:
        for p in Payment.objects.filter(order_id__in=ids).select_related("payment_method").order_by("order_id", "id"):
            latest[p.order_id] = p  # ascending ids: the last one wins
    for o in orders:
        o.latest_payment = latest.get(o.pk)  # type: ignore[attr-defined]
    return list(orders)


def order_page(shop: Shop, flt: OrderFilter, *, after: str = "", before: str = "", size: int = PAGE_SIZE) -> OrderPage:
    """Keyset pagination on the time-ordered id: no OFFSET and no COUNT(*), so page N costs what page 1 costs."""
    qs = payment_selectors.orders(shop, flt).only(
        "id", "shop_order_no", "created_at", "status", "amount", "customer_name", "prefecture", "needs_review"
    )
    if before:
        rows = list(qs.filter(id__gt=before).order_by("id")[: size + 1])
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        return OrderPage(
            orders=_with_latest_payment(rows),
            next_after=rows[-1].pk if rows else None,
            prev_before=rows[0].pk if rows and has_newer else None,
        )
    if after:
        qs = qs.filter(id__lt=after)
    rows = list(qs[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    return OrderPage(
        orders=_with_latest_payment(rows),
        next_after=rows[-1].pk if rows and has_older else None,
        prev_before=rows[0].pk if rows and after else None,
    )


def export_orders(shop: Shop, flt: OrderFilter, *, batch: int = 1000) -> Iterator[Order]:
    """Every matching order, newest first, in keyset batches (constant memory for a streamed export)."""
    after = ""
    while True:
        page = order_page(shop, flt, after=after, size=batch)
        yield from page.orders
        if page.next_after is None:
            return
        after = page.next_after


def order_payments(shop: Shop, order: Order) -> list[Payment]:
    """All payments of an order, newest first (the latest is the one the 決済情報 dialog acts on)."""
    return list(
        Payment.objects.filter(shop=shop, order=order).select_related("account", "payment_method").order_by("-id")
    )


def audit_entries(shop: Shop, *, after: int | None = None, size: int = 100) -> list[AuditEntry]:
    qs = AuditEntry.objects.filter(shop=shop).order_by("-id")
    if after:
        qs = qs.filter(id__lt=after)
    return list(qs[:size])


def parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=JST)


def filter_from_params(params: Any) -> tuple[OrderFilter, dict[str, str]]:
    """Build an OrderFilter from query parameters (受注日 is a JST date range, both ends inclusive)."""
    errors: dict[str, str] = {}
    state = params.get("state", "")
    if state and state not in set(PaymentState):
        state = ""
    date_from = parse_day(params.get("from", ""))
    date_to = parse_day(params.get("to", ""))
    if params.get("from") and date_from is None:
        errors["from"] = "受注日(開始)は YYYY-MM-DD 形式で入力してください。"
    if params.get("to") and date_to is None:
        errors["to"] = "受注日(終了)は YYYY-MM-DD 形式で入力してください。"
    flt = OrderFilter(
        state=state,
        provider=params.get("provider", "")[:40],
        created_from=day_start(date_from) if date_from else None,
        created_to=day_start(date_to + timedelta(days=1)) if date_to else None,
        q=params.get("q", "").strip()[:100],
    )
    return flt, errors
