"""What the checkout page shows: the order summary, the shop's payment methods, the provider widget
(while the payment waits for the buyer) or the payment's result, and the page's Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kessai.checkout import selectors
from kessai.payments.models import CaptureMode, Payment
from kessai.payments.money import format_yen
from kessai.payments.state import PaymentState
from kessai.providers import registry
from kessai.shops.models import PaymentMethod
from kessai.shops.services import sanitize_description

S = PaymentState
# States in which the buyer has nothing left to do on this page.
RESULT_STATES = frozenset(set(S) - {S.CREATED})
# States whose outcome is still being settled: the page reloads itself.
IN_PROGRESS_STATES = frozenset({S.AUTHORIZING, S.UNKNOWN, S.PENDING_REVIEW})


@dataclass(frozen=True)
class Line:
    name: str
    unit_price: str
    quantity: int
    subtotal: str


@dataclass(frozen=True)
class MethodView:
    id: str
    code: str
    name: str
    description: SafeString
    banner_url: str
    banner_link: str
    current: bool


@dataclass(frozen=True)
class Result:
    kind: str  # "ok" | "ng" | "cancelled" | "in_progress"
    title: str
    detail: str = ""
    capture_label: str = ""


@dataclass
class Page:
    payment: Payment
    lines: list[Line]
    total: str
    fee: str
    methods: list[MethodView]
    result: Result | None = None
    notice: str = ""
    script_url: str = ""
    widget: dict[str, Any] | None = None
    image_urls: list[str] = field(default_factory=list)

    @property
    def refresh_seconds(self) -> int:
        return 3 if self.payment.state_enum in IN_PROGRESS_STATES else 0

    @property
    def choose_again(self) -> bool:
        """After 与信NG or a cancel the buyer may pay for the order another way."""
        return self.payment.state_enum in (S.DECLINED, S.CANCELLED) and not self.notice


def browser_checkout(provider: str) -> bool:
    """Does the buyer authorize in the provider's widget (rather than the hub, server-side)?"""
    capabilities = getattr(registry.adapter_class(provider), "capabilities", None)
    return bool(capabilities is not None and capabilities.browser_checkout)


def order_lines(payment: Payment) -> list[Line]:
    lines = []
    for item in payment.order.items:
        price, quantity = int(item.get("unit_price", 0)), int(item.get("quantity", 0))
        lines.append(Line(str(item.get("name", "")), format_yen(price), quantity, format_yen(price * quantity)))
    return lines


def _method_view(method: PaymentMethod, current: PaymentMethod | None) -> MethodView:
    return MethodView(
        id=method.id,
        code=method.code,
        name=method.name,
        description=mark_safe(sanitize_description(method.description)),  # noqa: S308 - sanitised by nh3
        banner_url=method.banner_url,
        banner_link=method.banner_link,
        current=current is not None and method.pk == current.pk,
    )


def methods_for(payment: Payment) -> list[MethodView]:
    """Active methods whose provider Kessai can take payments with, plus the payment's own method."""
    current = payment.payment_method
    methods = [
        m for m in selectors.active_methods(payment.shop) if registry.info(m.provider_account.provider).has_adapter
    ]
    if current is not None and all(m.pk != current.pk for m in methods):
        methods.insert(0, current)
    return [_method_view(m, current) for m in methods]


def result_for(payment: Payment) -> Result | None:
    state = payment.state_enum
    if state is S.CREATED:
        return None
    if state in (S.AUTHORIZED, S.CAPTURED):
        if state is S.AUTHORIZED:
            label = _("仮売上")
        elif payment.capture_mode == CaptureMode.IMMEDIATE:
            label = _("即時売上確定")
        else:
            label = _("売上確定")
        return Result("ok", _("ご注文ありがとうございます"), _("お支払いの手続きが完了しました。"), label)
    if state is S.DECLINED:
        return Result(
            "ng",
            _("与信NG: このお支払い方法はご利用いただけませんでした"),
            payment.decline_message or _("審査の結果、このお支払い方法はご利用いただけません。"),
        )
    if state is S.CANCELLED:
        return Result("cancelled", _("このお支払いは取り消されました"))
    return Result("in_progress", _("お支払いの結果を確認しています"), _("このままお待ちください。"))


def origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(script_url: str, image_urls: Iterable[str]) -> str:
    """Scripts from us and the provider's widget host only; its modal is an iframe from that host."""
    provider = origin(script_url) if script_url else ""
    images = sorted({o for o in (origin(u) for u in image_urls) if o} | ({provider} if provider else set()))
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", provider],
        "frame-src": [provider] if provider else ["'none'"],
        "connect-src": ["'self'", provider],
        "img-src": ["'self'", "data:", *images],
        # The provider's widget styles its overlay; we use our stylesheet only.
        "style-src": ["'self'", "'unsafe-inline'", provider] if provider else ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(v for v in values if v)}" for name, values in directives.items())


def build(payment: Payment) -> Page:
    order = payment.order
    methods = methods_for(payment)
    page = Page(
        payment=payment,
        lines=order_lines(payment),
        total=format_yen(payment.amount),
        fee=format_yen(order.fee) if order.fee else "",
        methods=methods,
        result=result_for(payment),
        image_urls=[m.banner_url for m in methods if m.banner_url],
    )
    if payment.state_enum is S.CREATED:
        other = selectors.other_active_payment(payment)
        if other is not None:
            page.notice = _("この注文のお支払いは別の決済で手続き済みです。")
    elif payment.state_enum in (S.DECLINED, S.CANCELLED) and selectors.other_active_payment(payment):
        page.notice = _("この注文のお支払いは別の決済で手続き済みです。")
    return page
