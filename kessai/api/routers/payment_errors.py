"""GET/DELETE /payment-errors (決済エラーログ)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from kessai.api.auth import environment_of, shop_of
from kessai.api.pagination import paginate
from kessai.api.responses import documented
from kessai.api.schemas.common import Deleted, DeletedCount
from kessai.api.schemas.payment_errors import (
    PaymentErrorList,
    PaymentErrorListParams,
    PaymentErrorOut,
    payment_error_out,
)
from kessai.payments import error_log, selectors

router = Router(tags=["payment-errors"])


@router.get("/payment-errors", response=documented({200: PaymentErrorList}), summary="決済エラーログ / List errors")
def list_errors(request: HttpRequest, params: Query[PaymentErrorListParams]) -> dict[str, Any]:
    qs = selectors.payment_errors_in(shop_of(request), environment=environment_of(request)).order_by("-id")
    if params.payment:
        qs = qs.filter(payment_id=params.payment)
    return paginate(qs, params, payment_error_out, prefix="err").as_dict()


@router.get("/payment-errors/{error_id}", response=documented({200: PaymentErrorOut}), summary="エラー / Get an error")
def get_error(request: HttpRequest, error_id: str) -> dict[str, Any]:
    return payment_error_out(
        selectors.get_payment_error(shop_of(request), error_id, environment=environment_of(request))
    )


@router.delete("/payment-errors", response=documented({200: DeletedCount}), summary="ログ削除 (全件) / Delete all")
def delete_all(request: HttpRequest) -> dict[str, Any]:
    """このAPIキーの環境のエラーログをすべて削除します。"""
    return {"deleted": error_log.delete_errors(shop_of(request), environment=environment_of(request))}


@router.delete("/payment-errors/{error_id}", response=documented({200: Deleted}), summary="ログ削除 (1件) / Delete one")
def delete_one(request: HttpRequest, error_id: str) -> dict[str, Any]:
    shop, environment = shop_of(request), environment_of(request)
    error = selectors.get_payment_error(shop, error_id, environment=environment)
    error_log.delete_errors(shop, ids=[error.id], environment=environment)
    return {"id": error.id, "deleted": True}
