"""POST/GET /orders, GET /orders/{id}."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from kessai.api.auth import environment_of, shop_of
from kessai.api.pagination import paginate
from kessai.api.responses import WRITE_ERRORS, documented
from kessai.api.schemas.orders import OrderIn, OrderList, OrderListParams, OrderOut, order_out
from kessai.common.jst import JST
from kessai.payments import orders as order_service
from kessai.payments import selectors
from kessai.payments.models import Order

router = Router(tags=["orders"])


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=JST)


def _out(order: Order) -> dict[str, Any]:
    return order_out(order, getattr(order, "env_payments", []))


@router.post("/orders", response=documented({201: OrderOut}, WRITE_ERRORS), summary="注文を登録 / Create an order")
def create_order(request: HttpRequest, body: OrderIn) -> tuple[int, dict[str, Any]]:
    """`amount` は明細の合計 (Σ unit_price × quantity) と一致させてください。全角の数字・記号は半角に正規化されます。"""
    order = order_service.create_order(shop_of(request), body.model_dump())
    return 201, order_out(order, [])


@router.get("/orders", response=documented({200: OrderList}), summary="注文一覧 / List orders")
def list_orders(request: HttpRequest, params: Query[OrderListParams]) -> dict[str, Any]:
    """新しい順。`next_cursor` を `cursor` に渡すと次のページ。"""
    shop = shop_of(request)
    flt = selectors.OrderFilter(
        state=params.state or "",
        provider=params.provider or "",
        created_from=_aware(params.created_from),
        created_to=_aware(params.created_to),
        q=params.q or "",
        needs_review=params.needs_review,
    )
    qs = selectors.with_payments(selectors.orders(shop, flt), environment=environment_of(request))
    return paginate(qs, params, _out, prefix="ord").as_dict()


@router.get("/orders/{order_id}", response=documented({200: OrderOut}), summary="注文 / Get an order")
def get_order(request: HttpRequest, order_id: str) -> dict[str, Any]:
    shop = shop_of(request)
    order = selectors.get_order(shop, order_id)
    return order_out(order, selectors.order_payments(shop, order, environment=environment_of(request)))
