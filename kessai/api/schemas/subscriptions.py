"""Shapes of /subscriptions (継続課金)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from kessai.api.pagination import PageParams
from kessai.api.schemas.common import InputSchema
from kessai.api.schemas.orders import CustomerIn, ItemIn
from kessai.billing import selectors as billing_selectors
from kessai.billing.models import Subscription, SubscriptionCycle


class SubscriptionIn(InputSchema):
    payment_method: str = Field(description="支払方法のID (pm_…) またはコード。トークン決済に対応した決済会社のもの")
    authentication_token: str = Field(description="購入者のトークン (atone: tk_…) — 初回決済で取得したもの")
    customer: CustomerIn
    items: list[ItemIn]
    amount: int = Field(description="毎回の決済金額(税込・円)。明細の合計と一致すること")
    first_billing_on: date = Field(description="初回課金日 (JST, YYYY-MM-DD)", strict=False)
    interval_months: int = Field(1, ge=1, le=12, description="課金間隔(月)")
    billing_day: int | None = Field(None, ge=1, le=28, description="課金日 (1〜28)。省略時は初回課金日の日")
    renewal_interval_months: int | None = Field(None, ge=1, le=120, description="契約更新間隔(月)")
    member_no: str = Field("", max_length=40, description="会員No")
    order_no: str = Field("", max_length=100, description="注文番号 (省略時は自動採番)")


class SubscriptionPatch(InputSchema):
    next_billing_on: date | None = Field(None, description="次回課金日", strict=False)
    next_renewal_on: date | None = Field(None, description="次回契約更新日", strict=False)
    amount: int | None = Field(None, description="決済金額 (items と一緒に)")
    items: list[ItemIn] | None = None


class CycleOut(Schema):
    id: str
    cycle_date: date
    status: Literal["scheduled", "charged", "failed", "skipped"]
    amount: int
    attempts: int
    payment: str | None
    message: str
    charged_at: datetime | None


class SubscriptionOut(Schema):
    id: str
    provider: str
    payment_method: str | None
    order_no: str
    member_no: str
    customer_name: str
    amount: int
    interval_months: int
    billing_day: int
    applied_at: datetime
    first_billing_on: date
    next_billing_on: date | None
    next_renewal_on: date | None
    status: Literal["active", "stopped"]
    cycles: list[CycleOut]


class SubscriptionList(Schema):
    data: list[SubscriptionOut]
    has_more: bool
    next_cursor: str | None


class SubscriptionListParams(PageParams):
    status: Literal["active", "stopped"] | None = Field(None, description="継続中 / 停止")


def cycle_out(cycle: SubscriptionCycle) -> dict[str, Any]:
    return {
        "id": cycle.id,
        "cycle_date": cycle.cycle_date,
        "status": cycle.status,
        "amount": cycle.amount,
        "attempts": cycle.attempts,
        "payment": cycle.payment_id,
        "message": cycle.message,
        "charged_at": cycle.charged_at,
    }


def subscription_out(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "provider": sub.account.provider,
        "payment_method": sub.payment_method_id,
        "order_no": sub.order_no,
        "member_no": sub.member_no,
        "customer_name": sub.customer_name,
        "amount": sub.amount,
        "interval_months": sub.interval_months,
        "billing_day": sub.billing_day,
        "applied_at": sub.applied_at,
        "first_billing_on": sub.first_billing_on,
        "next_billing_on": sub.next_billing_on,
        "next_renewal_on": sub.next_renewal_on,
        "status": sub.status,
        "cycles": [cycle_out(c) for c in billing_selectors.cycles(sub.shop, sub)],
    }
