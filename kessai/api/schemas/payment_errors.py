"""決済エラーログ entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from kessai.api.pagination import PageParams
from kessai.payments.models import PaymentError


class PaymentErrorOut(Schema):
    id: str
    payment: str | None
    provider: str
    link_key: str = Field(description="リンクキー (注文番号)")
    operation: str
    status: str
    code: str
    message: str
    request_id: str
    payload: dict[str, Any] = Field(description="サポート用の決済会社の応答 (認証情報は含まない)")
    created_at: datetime


class PaymentErrorList(Schema):
    data: list[PaymentErrorOut]
    has_more: bool
    next_cursor: str | None


class PaymentErrorListParams(PageParams):
    payment: str | None = Field(None, max_length=60, description="決済ID (pay_…) で絞り込み")


def payment_error_out(error: PaymentError) -> dict[str, Any]:
    return {
        "id": error.id,
        "payment": error.payment_id,
        "provider": error.provider,
        "link_key": error.link_key,
        "operation": error.operation,
        "status": error.status,
        "code": error.code,
        "message": error.message,
        "request_id": error.request_id,
        "payload": error.payload if isinstance(error.payload, dict) else {},
        "created_at": error.created_at,
    }
