"""POST/GET /subscriptions, /subscriptions/{id}, /stop, /resume, /charge, PATCH (継続課金)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from kessai.api.auth import actor_of, environment_of, shop_of
from kessai.api.pagination import paginate
from kessai.api.responses import WRITE_ERRORS, documented
from kessai.api.schemas.subscriptions import (
    SubscriptionIn,
    SubscriptionList,
    SubscriptionListParams,
    SubscriptionOut,
    SubscriptionPatch,
    subscription_out,
)
from kessai.billing import selectors as billing_selectors
from kessai.billing import services as billing
from kessai.billing.models import Subscription
from kessai.payments import selectors
from kessai.shops.errors import NotFound, ValidationFailed

router = Router(tags=["subscriptions"])


def _subscription(request: HttpRequest, subscription_id: str) -> Subscription:
    """Another shop's or another environment's subscription is simply not found."""
    sub = billing_selectors.get_subscription(shop_of(request), subscription_id)
    if sub.account.environment != environment_of(request):
        raise NotFound(subscription_id)
    return sub


@router.post(
    "/subscriptions", response=documented({201: SubscriptionOut}, WRITE_ERRORS), summary="継続課金を登録 / Create"
)
def create_subscription(request: HttpRequest, body: SubscriptionIn) -> tuple[int, dict[str, Any]]:
    """初回決済で得た購入者トークンで継続課金会員を登録します。課金は初回課金日からワーカーが行います。"""
    shop = shop_of(request)
    # Only this key's environment: a method of the other environment is as unknown as a wrong id.
    usable = selectors.payment_methods(shop, environment=environment_of(request))
    method = usable.filter(pk=body.payment_method).first() or usable.filter(code=body.payment_method).first()
    if method is None:
        message = _("指定された支払方法は利用できません。")
        raise ValidationFailed(
            {"payment_method": message},
            code="unknown_payment_method",
            field_codes={"payment_method": "unknown_payment_method"},
        )
    sub = billing.create_subscription(
        shop,
        payment_method=method.id,
        token=body.authentication_token,
        customer=body.customer.model_dump(),
        items=[item.model_dump() for item in body.items],
        amount=body.amount,
        first_billing_on=body.first_billing_on,
        interval_months=body.interval_months,
        billing_day=body.billing_day,
        renewal_interval_months=body.renewal_interval_months,
        member_no=body.member_no,
        order_no=body.order_no,
        actor=actor_of(request),
    )
    return 201, subscription_out(sub)


@router.get("/subscriptions", response=documented({200: SubscriptionList}), summary="継続課金会員リスト")
def list_subscriptions(request: HttpRequest, params: Query[SubscriptionListParams]) -> dict[str, Any]:
    qs = (
        billing_selectors.subscriptions(shop_of(request), status=params.status or "")
        .filter(account__environment=environment_of(request))
        .order_by("-id")
    )
    return paginate(qs, params, subscription_out, prefix="sub").as_dict()


@router.get("/subscriptions/{subscription_id}", response=documented({200: SubscriptionOut}), summary="継続課金会員情報")
def get_subscription(request: HttpRequest, subscription_id: str) -> dict[str, Any]:
    return subscription_out(_subscription(request, subscription_id))


@router.patch(
    "/subscriptions/{subscription_id}",
    response=documented({200: SubscriptionOut}, WRITE_ERRORS),
    summary="次回課金日・次回契約更新日・決済金額の変更",
)
def update_subscription(request: HttpRequest, subscription_id: str, body: SubscriptionPatch) -> dict[str, Any]:
    sub = billing.update(
        _subscription(request, subscription_id),
        actor=actor_of(request),
        next_billing_on=body.next_billing_on,
        next_renewal_on=body.next_renewal_on,
        amount=body.amount,
        items=[item.model_dump() for item in body.items] if body.items is not None else None,
    )
    return subscription_out(sub)


@router.post(
    "/subscriptions/{subscription_id}/stop", response=documented({200: SubscriptionOut}, WRITE_ERRORS), summary="停止"
)
def stop_subscription(request: HttpRequest, subscription_id: str) -> dict[str, Any]:
    return subscription_out(billing.stop(_subscription(request, subscription_id), actor=actor_of(request)))


@router.post(
    "/subscriptions/{subscription_id}/resume", response=documented({200: SubscriptionOut}, WRITE_ERRORS), summary="再開"
)
def resume_subscription(request: HttpRequest, subscription_id: str) -> dict[str, Any]:
    return subscription_out(billing.resume(_subscription(request, subscription_id), actor=actor_of(request)))


@router.post(
    "/subscriptions/{subscription_id}/charge",
    response=documented({200: SubscriptionOut}, WRITE_ERRORS),
    summary="今すぐ課金 / Charge now",
)
def charge_subscription(request: HttpRequest, subscription_id: str) -> dict[str, Any]:
    """期日の課金、または本日付の追加課金をすぐに実行します (同じ日の2回目は拒否されます)。"""
    sub = _subscription(request, subscription_id)
    billing.charge_now(sub, actor=actor_of(request))
    sub.refresh_from_db()
    return subscription_out(sub)
