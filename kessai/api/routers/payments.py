"""POST /orders/{id}/payments, GET /payments/{id} and the operations on a payment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from kessai.api.auth import actor_of, environment_of, shop_of
from kessai.api.problems import with_payment
from kessai.api.responses import PROVIDER_ERRORS, documented
from kessai.api.schemas.payments import (
    CaptureIn,
    ChangeAmountIn,
    PaymentOut,
    RefreshIn,
    RefundIn,
    ShipmentIn,
    StartedPaymentOut,
    StartPaymentIn,
    payment_out,
)
from kessai.payments import selectors, services
from kessai.payments.models import Payment
from kessai.payments.state import InvalidTransition
from kessai.providers.base import ProviderError
from kessai.shops.models import Shop

router = Router(tags=["payments"])


def _out(shop: Shop, payment: Payment) -> dict[str, Any]:
    # The shop comes from the API key (loaded with it): ``payment.shop`` would cost a query per response.
    return payment_out(payment, selectors.payment_operations(shop, payment))


def _operate(request: HttpRequest, payment_id: str, run: Callable[[Payment, str], Payment]) -> dict[str, Any]:
    shop = shop_of(request)
    payment = selectors.get_payment_in(shop, payment_id, environment=environment_of(request))
    try:
        result = run(payment, actor_of(request))
    except services.RequestAlreadyRun as replay:
        result = replay.payment  # this request's operation was begun by its first run: its outcome is in the history
    except (ProviderError, InvalidTransition) as exc:
        with_payment(exc, payment.id)
        raise
    return _out(shop, selectors.get_payment(shop, result.id))


@router.post(
    "/orders/{order_id}/payments",
    response=documented({201: StartedPaymentOut}, PROVIDER_ERRORS),
    summary="決済を開始 / Start a payment",
)
def start_payment(request: HttpRequest, order_id: str, body: StartPaymentIn) -> tuple[int, dict[str, Any]]:
    """支払方法 (ID またはコード) で決済を開始します。購入者の操作が必要な決済会社では `next_action` に
    ホスト型決済ページの URL とウィジェット設定が入ります。
    `authentication_token` があればサーバー側で即時与信します。"""
    shop, environment = shop_of(request), environment_of(request)
    order = selectors.get_order(shop, order_id)
    try:
        started = services.start_payment(
            order,
            method_ref=body.payment_method,
            actor=actor_of(request),
            capture=body.capture,
            authentication_token=body.authentication_token,
            environment=environment,
        )
    except ProviderError as exc:
        attempt = selectors.order_payments(shop, order, environment=environment).last()
        with_payment(exc, attempt.id if attempt else None)
        raise
    payment = started.payment
    next_action = None
    if started.requires_action:
        next_action = {
            "type": "checkout",
            "url": f"{settings.KESSAI_PUBLIC_URL}/pay/{payment.checkout_token}",
            "widget": services.checkout_widget(payment),
        }
    return 201, {**_out(shop, payment), "next_action": next_action}


@router.get("/payments/{payment_id}", response=documented({200: PaymentOut}), summary="決済 / Get a payment")
def get_payment(request: HttpRequest, payment_id: str) -> dict[str, Any]:
    shop = shop_of(request)
    return _out(shop, selectors.get_payment_in(shop, payment_id, environment=environment_of(request)))


@router.post(
    "/payments/{payment_id}/capture",
    response=documented({200: PaymentOut}, PROVIDER_ERRORS),
    summary="売上確定 / Capture",
)
def capture(request: HttpRequest, payment_id: str, body: CaptureIn | None = None) -> dict[str, Any]:
    """仮売上 (authorized) → 売上確定 (captured)。`amount` は一部売上確定に対応する決済会社のみ (本文は省略可)。"""
    amount = body.amount if body is not None else None
    return _operate(request, payment_id, lambda p, actor: services.capture(p, actor=actor, amount=amount))


@router.post(
    "/payments/{payment_id}/cancel",
    response=documented({200: PaymentOut}, PROVIDER_ERRORS),
    summary="取消 / Cancel",
)
def cancel(request: HttpRequest, payment_id: str) -> dict[str, Any]:
    """与信キャンセル / 課金払戻 (全額)。取り消した決済は元に戻せません。"""
    return _operate(request, payment_id, lambda p, actor: services.cancel(p, actor=actor))


@router.post(
    "/payments/{payment_id}/change-amount",
    response=documented({200: PaymentOut}, PROVIDER_ERRORS),
    summary="金額変更 / Change the amount",
)
def change_amount(request: HttpRequest, payment_id: str, body: ChangeAmountIn) -> dict[str, Any]:
    """明細と金額を変更して決済会社に再登録します。
    決済会社によっては再審査となり与信NG (declined) になることがあります。"""
    items: list[Mapping[str, Any]] = [item.model_dump() for item in body.items]
    return _operate(
        request, payment_id, lambda p, actor: services.change_amount(p, amount=body.amount, items=items, actor=actor)
    )


@router.post(
    "/payments/{payment_id}/shipments",
    response=documented({200: PaymentOut}, PROVIDER_ERRORS),
    summary="出荷報告 / Report a shipment",
)
def report_shipment(request: HttpRequest, payment_id: str, body: ShipmentIn) -> dict[str, Any]:
    """伝票番号を登録します。出荷報告で請求が確定する決済会社 (NP後払い等) では captured になります。"""
    return _operate(
        request,
        payment_id,
        lambda p, actor: services.report_shipment(p, carrier=body.carrier, tracking_no=body.tracking_no, actor=actor),
    )


@router.post(
    "/payments/{payment_id}/refund",
    response=documented({200: PaymentOut}, PROVIDER_ERRORS),
    summary="返金 / Refund",
)
def refund(request: HttpRequest, payment_id: str, body: RefundIn) -> dict[str, Any]:
    return _operate(
        request, payment_id, lambda p, actor: services.refund(p, amount=body.amount, reason=body.reason, actor=actor)
    )


@router.post(
    "/payments/{payment_id}/refresh",
    response=documented({200: PaymentOut}, PROVIDER_ERRORS),
    summary="最新の状態を取得 / Refresh from the provider",
)
def refresh(request: HttpRequest, payment_id: str, body: RefreshIn | None = None) -> dict[str, Any]:
    """決済会社に問い合わせて状態を同期します。結果不明 (unknown) の操作を確定させる唯一の方法です。
    決済IDのない結果不明の与信には、決済会社の管理画面で見つけた取引ID (`provider_ref`) を指定します
    (決済会社が別の取引番号を返した場合は記録しません)。"""
    ref = body.provider_ref if body is not None else ""
    return _operate(request, payment_id, lambda p, actor: services.refresh(p, actor=actor, provider_ref=ref))


@router.post(
    "/payments/{payment_id}/close-unregistered",
    response=documented({200: PaymentOut}, PROVIDER_ERRORS),
    summary="取引なしとして閉じる / Close an unknown authorization the provider never registered",
)
def close_unregistered(request: HttpRequest, payment_id: str) -> dict[str, Any]:
    """結果不明で決済IDのない与信について、決済会社の管理画面で取引がないことを確認したときに、与信失敗として
    閉じます (cancelled)。決済IDが分かっている決済には使えません (`refresh` を使います)。
    For an authorization whose outcome is unknown and whose provider id was never learnt: after checking the
    provider's console shows no transaction with its number, close it (cancelled; the order may be paid again)."""
    return _operate(request, payment_id, lambda p, actor: services.close_unregistered(p, actor=actor))
