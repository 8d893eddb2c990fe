"""Orders: the create body of design.md and the order as the API returns it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from kessai.api.pagination import PageParams
from kessai.api.schemas.common import InputSchema, PaymentStateName, QueryDateTime
from kessai.payments.models import Order, Payment

ORDER_EXAMPLE: dict[str, Any] = {
    "shop_order_no": "A-1001",
    "amount": 13824,
    "items": [
        {"sku": "P-1", "name": "1人掛けソファ", "unit_price": 12800, "quantity": 1},
        {"sku": "ship", "name": "送料", "unit_price": 1024, "quantity": 1},
    ],
    "customer": {
        "name": "山田 太郎",
        "name_kana": "ヤマダ タロウ",
        "email": "taro@example.jp",
        "phone": "090-1234-5678",
        "zip_code": "107-0052",
        "address": "東京都港区赤坂1-2-3",
    },
    "destinations": [
        {"name": "山田 花子", "zip_code": "107-0052", "address": "東京都港区赤坂1-2-3", "phone": "03-1234-5678"}
    ],
}


class ItemIn(InputSchema):
    sku: str = Field(description="商品コード (送料・手数料・割引も明細行)")
    name: str
    unit_price: int = Field(description="税込単価(円)。割引は負の値")
    quantity: int


class CustomerIn(InputSchema):
    name: str
    name_kana: str = ""
    email: str = ""
    phone: str = Field(description="全角・ハイフンなしも可(NFKC正規化)")
    zip_code: str = Field(description="1070052 / 107-0052 / １０７－００５２")
    address: str
    company: str = ""


class DestinationIn(InputSchema):
    name: str
    zip_code: str
    address: str
    phone: str = ""
    name_kana: str = ""
    company: str = ""


class OrderIn(InputSchema):
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"examples": [ORDER_EXAMPLE]})

    shop_order_no: str = Field(description="ショップの注文番号 (ショップ内で一意)")
    amount: int = Field(description="総合計金額(税込・円) = Σ unit_price × quantity")
    items: list[ItemIn]
    customer: CustomerIn
    destinations: list[DestinationIn] = Field(default_factory=list)


class ItemOut(Schema):
    sku: str
    name: str
    unit_price: int
    quantity: int


class CustomerOut(Schema):
    name: str
    name_kana: str
    email: str
    phone: str
    zip_code: str
    address: str
    company: str


class DestinationOut(Schema):
    name: str
    name_kana: str
    zip_code: str
    address: str
    phone: str
    company: str


class PaymentSummaryOut(Schema):
    id: str
    provider: str
    provider_ref: str
    state: PaymentStateName
    amount: int


class OrderOut(Schema):
    id: str
    shop_order_no: str
    amount: int
    fee: int
    items: list[ItemOut]
    customer: CustomerOut
    destinations: list[DestinationOut]
    status: Literal["new", "processing", "shipped", "completed", "cancelled"]
    needs_review: bool
    created_at: datetime
    payments: list[PaymentSummaryOut] = Field(description="この注文の決済 (APIキーの環境のもの)")


class OrderList(Schema):
    data: list[OrderOut]
    has_more: bool
    next_cursor: str | None


class OrderListParams(PageParams):
    state: PaymentStateName | None = Field(None, description="決済状況 / payment state")
    provider: str | None = Field(None, max_length=40, description="決済会社コード / provider code")
    created_from: QueryDateTime | None = Field(
        None, description="受注日時の下限 (含む, ISO 8601; タイムゾーン省略時はJST)"
    )
    created_to: QueryDateTime | None = Field(None, description="受注日時の上限 (含まない, ISO 8601)")
    q: str | None = Field(None, max_length=200, description="注文番号・氏名・電話番号・決済ID")
    needs_review: bool | None = Field(None, description="要確認のみ / only orders flagged for review")


def _text_fields(raw: object, keys: Iterable[str]) -> dict[str, str]:
    data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return {key: str(data.get(key) or "") for key in keys}


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def order_out(order: Order, payments: Iterable[Payment]) -> dict[str, Any]:
    return {
        "id": order.id,
        "shop_order_no": order.shop_order_no,
        "amount": order.amount,
        "fee": order.fee,
        "items": [
            {
                **_text_fields(item, ("sku", "name")),
                "unit_price": _int(item.get("unit_price")),
                "quantity": _int(item.get("quantity")),
            }
            for item in (order.items or [])
            if isinstance(item, Mapping)
        ],
        "customer": _text_fields(order.customer, CustomerOut.model_fields),
        "destinations": [
            _text_fields(dest, DestinationOut.model_fields)
            for dest in (order.destinations or [])
            if isinstance(dest, Mapping)
        ],
        "status": order.status,
        "needs_review": order.needs_review,
        "created_at": order.created_at,
        "payments": [
            {"id": p.id, "provider": p.provider, "provider_ref": p.provider_ref, "state": p.state, "amount": p.amount}
            for p in payments
        ],
    }
