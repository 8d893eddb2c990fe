"""POST/GET/PATCH/DELETE /payment-methods."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from kessai.api.auth import environment_of, shop_of
from kessai.api.responses import WRITE_ERRORS, documented
from kessai.api.schemas.common import Deleted
from kessai.api.schemas.golive import PaymentMethodDisplayOut
from kessai.api.schemas.settings import (
    PaymentMethodIn,
    PaymentMethodList,
    PaymentMethodOut,
    PaymentMethodPatch,
    method_out,
)
from kessai.golive.display import display_for
from kessai.payments import selectors
from kessai.shops import services as shop_services
from kessai.shops.errors import NotFound, ValidationFailed

router = Router(tags=["payment-methods"])


@router.post(
    "/payment-methods",
    response=documented({201: PaymentMethodOut}, WRITE_ERRORS),
    summary="支払方法を登録 / Create a payment method",
)
def create_method(request: HttpRequest, body: PaymentMethodIn) -> tuple[int, dict[str, Any]]:
    """`description` のHTMLはサニタイズされます。`active: false` は「停止」です。"""
    shop = shop_of(request)
    try:
        account = selectors.get_provider_account(shop, body.provider_account, environment=environment_of(request))
    except NotFound:
        message = _("外部連携アカウントが見つかりません。")
        raise ValidationFailed(
            {"provider_account": message},
            code="unknown_provider_account",
            field_codes={"provider_account": "not_found"},
        ) from None
    method = shop_services.create_payment_method(
        shop,
        provider_account=account,
        code=body.code,
        name=body.name,
        description=body.description,
        banner_url=body.banner_url,
        banner_link=body.banner_link,
        active=body.active,
        sort=body.sort,
    )
    return 201, method_out(method)


@router.get("/payment-methods", response=documented({200: PaymentMethodList}), summary="支払方法一覧")
def list_methods(request: HttpRequest) -> dict[str, Any]:
    """表示順 (sort) に全件を返します (ページングなし: has_more は常に false)。"""
    methods = selectors.payment_methods(shop_of(request), environment=environment_of(request))
    return {"data": [method_out(m) for m in methods], "has_more": False, "next_cursor": None}


@router.get("/payment-methods/{method_id}", response=documented({200: PaymentMethodOut}), summary="支払方法")
def get_method(request: HttpRequest, method_id: str) -> dict[str, Any]:
    return method_out(selectors.get_payment_method(shop_of(request), method_id, environment=environment_of(request)))


@router.get(
    "/payment-methods/{method_id}/display",
    response=documented({200: PaymentMethodDisplayOut}),
    summary="決済画面の表示内容 / Checkout copy",
)
def display_method(request: HttpRequest, method_id: str, amount: int | None = None) -> dict[str, Any]:
    """自前の決済画面を描くカート向け: 決済名・バナー・説明文・お支払い方法・注意事項 (サニタイズ済みHTML) と
    手数料。`amount` (手数料行を除いた明細合計) を渡すとその注文の手数料も返します。"""
    method = selectors.get_payment_method(shop_of(request), method_id, environment=environment_of(request))
    return display_for(method, amount=amount)


@router.patch(
    "/payment-methods/{method_id}",
    response=documented({200: PaymentMethodOut}, WRITE_ERRORS),
    summary="支払方法を変更 / Update a payment method",
)
def update_method(request: HttpRequest, method_id: str, body: PaymentMethodPatch) -> dict[str, Any]:
    method = selectors.get_payment_method(shop_of(request), method_id, environment=environment_of(request))
    method = shop_services.update_payment_method(method, **body.model_dump(exclude_unset=True, exclude_none=True))
    return method_out(method)


@router.delete(
    "/payment-methods/{method_id}",
    response=documented({200: Deleted}, WRITE_ERRORS),
    summary="支払方法を削除 / Delete a payment method",
)
def delete_method(request: HttpRequest, method_id: str) -> dict[str, Any]:
    """受注で使われた支払方法は削除できません (409 payment_method_in_use):
    PATCH で `active: false` (停止) にしてください。"""
    method = selectors.get_payment_method(shop_of(request), method_id, environment=environment_of(request))
    shop_services.delete_payment_method(method)
    return {"id": method_id, "deleted": True}
