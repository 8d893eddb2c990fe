"""Payments and their operations: the Payment shape of design.md, operation bodies, start-payment."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from kessai.api.schemas.common import InputSchema, OperationKind, OperationResultName, PaymentStateName
from kessai.api.schemas.orders import ItemIn
from kessai.payments.models import Operation, Payment


class OperationOut(Schema):
    id: str
    kind: OperationKind
    amount: int
    result: OperationResultName
    provider_code: str
    message: str
    actor: str
    created_at: datetime


class PaymentOut(Schema):
    id: str
    order: str
    provider: str
    provider_ref: str
    state: PaymentStateName
    amount: int
    captured_amount: int
    refunded_amount: int
    needs_review: bool
    review_reason: str
    operations: list[OperationOut]


class NextAction(Schema):
    type: Literal["checkout"]
    url: str = Field(description="ホスト型決済ページ / hosted checkout page: <KESSAI_PUBLIC_URL>/pay/<token>")
    widget: dict[str, Any] = Field(description="決済会社ウィジェットの設定 (秘密鍵は含まない)")


class StartedPaymentOut(PaymentOut):
    next_action: NextAction | None = Field(description="購入者の操作が必要なとき / when the buyer must act")


class StartPaymentIn(InputSchema):
    payment_method: str = Field(min_length=1, max_length=60, description="支払方法の ID (pm_…) またはコード")
    capture: Literal["manual", "immediate"] | None = Field(
        None, description="manual = 仮売上, immediate = 即時売上確定 (省略時はアカウントの設定)"
    )
    authentication_token: str = Field("", max_length=200, description="保存済みの購入者トークンで即時与信")


class CaptureIn(InputSchema):
    amount: int | None = Field(None, ge=1, description="一部売上確定の金額 (対応する決済会社のみ)")


class ChangeAmountIn(InputSchema):
    amount: int
    items: list[ItemIn]


class ShipmentIn(InputSchema):
    carrier: str = Field(min_length=1, max_length=40, description="配送業者コード (yamato, sagawa, japanpost, …)")
    tracking_no: str = Field(min_length=1, max_length=40, description="伝票番号")


class RefundIn(InputSchema):
    amount: int = Field(ge=1)
    reason: str = Field("", max_length=200)


class RefreshIn(InputSchema):
    provider_ref: str = Field(
        "",
        max_length=100,
        description="決済会社の管理画面で見つけた取引ID: 結果不明で決済IDのない与信の取引として確認して記録します "
        "/ a transaction id found in the provider's console for an authorization whose outcome and id are unknown",
    )


def operation_out(op: Operation) -> dict[str, Any]:
    return {
        "id": op.id,
        "kind": op.kind,
        "amount": op.amount,
        "result": op.result,
        "provider_code": op.provider_code,
        "message": op.message,
        "actor": op.actor,
        "created_at": op.created_at,
    }


def payment_out(payment: Payment, operations: Iterable[Operation]) -> dict[str, Any]:
    return {
        "id": payment.id,
        "order": payment.order_id,
        "provider": payment.provider,
        "provider_ref": payment.provider_ref,
        "state": payment.state,
        "amount": payment.amount,
        "captured_amount": payment.captured_amount,
        "refunded_amount": payment.refunded_amount,
        "needs_review": payment.needs_review,
        "review_reason": payment.review_reason,
        "operations": [operation_out(op) for op in operations],
    }
