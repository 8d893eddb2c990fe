"""Outbound webhook endpoints, their delivery log, manual resend and secret rotation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from kessai.api.auth import environment_of, shop_of
from kessai.api.pagination import PageParams, invalid_cursor, paginate
from kessai.api.responses import WRITE_ERRORS, documented
from kessai.api.schemas.common import Deleted
from kessai.api.schemas.webhooks import (
    DELIVERY_PREFIX,
    DeliveryList,
    DeliveryListParams,
    DeliveryOut,
    WebhookEndpointIn,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookEndpointWithSecretOut,
    delivery_out,
    delivery_public_id,
    endpoint_out,
)
from kessai.shops.errors import NotFound
from kessai.webhooks.models import WebhookEndpoint
from kessai.webhooks.outbound import selectors, services

router = Router(tags=["webhook-endpoints"])


def _endpoint(request: HttpRequest, endpoint_id: str) -> WebhookEndpoint:
    return selectors.get_endpoint(shop_of(request), endpoint_id, environment=environment_of(request))


def _delivery_pk(public_id: str) -> int:
    number = public_id.removeprefix(DELIVERY_PREFIX)
    if not public_id.startswith(DELIVERY_PREFIX) or not number.isdigit() or len(number) > 18:
        raise NotFound(public_id)
    return int(number)


def _cursor_pk(public_id: str) -> str:
    try:
        return str(_delivery_pk(public_id))
    except NotFound:
        raise invalid_cursor() from None


@router.post(
    "/webhook-endpoints",
    response=documented({201: WebhookEndpointWithSecretOut}, WRITE_ERRORS),
    summary="Webhook送信先を登録 / Register an endpoint",
)
def create_endpoint(request: HttpRequest, body: WebhookEndpointIn) -> tuple[int, dict[str, Any]]:
    """署名用シークレット (`whsec_…`) はこの応答でだけ返します。`event_types` が空なら全イベントを送ります。"""
    endpoint = services.create_endpoint(
        shop_of(request),
        environment=environment_of(request),
        url=body.url,
        event_types=list(body.event_types),
        description=body.description,
    )
    return 201, endpoint_out(endpoint, with_secret=True)


@router.get("/webhook-endpoints", response=documented({200: WebhookEndpointList}), summary="Webhook送信先一覧")
def list_endpoints(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    qs = selectors.endpoints(shop_of(request), environment=environment_of(request))
    return paginate(qs, params, endpoint_out, prefix="we").as_dict()


@router.get("/webhook-endpoints/{endpoint_id}", response=documented({200: WebhookEndpointOut}), summary="Webhook送信先")
def get_endpoint(request: HttpRequest, endpoint_id: str) -> dict[str, Any]:
    return endpoint_out(_endpoint(request, endpoint_id))


@router.delete("/webhook-endpoints/{endpoint_id}", response=documented({200: Deleted}), summary="Webhook送信先を削除")
def delete_endpoint(request: HttpRequest, endpoint_id: str) -> dict[str, Any]:
    endpoint = _endpoint(request, endpoint_id)
    services.delete_endpoint(endpoint)
    return {"id": endpoint_id, "deleted": True}


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response=documented({200: WebhookEndpointWithSecretOut}, WRITE_ERRORS),
    summary="シークレットを更新 / Rotate the secret",
)
def rotate_secret(request: HttpRequest, endpoint_id: str) -> dict[str, Any]:
    """新しいシークレットを発行します。
    旧シークレットも24時間は2つ目の署名として送られます (webhook-signature に2つ)。"""
    return endpoint_out(services.rotate_secret(_endpoint(request, endpoint_id)), with_secret=True)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response=documented({200: DeliveryList}),
    summary="配信ログ / Delivery log",
)
def list_deliveries(request: HttpRequest, endpoint_id: str, params: Query[DeliveryListParams]) -> dict[str, Any]:
    endpoint = _endpoint(request, endpoint_id)
    qs = selectors.deliveries(shop_of(request), endpoint)
    if params.status:
        qs = qs.filter(status=params.status)
    page = paginate(
        qs, params, delivery_out, prefix=DELIVERY_PREFIX[:-1], public_id=delivery_public_id, parse_id=_cursor_pk
    )
    return page.as_dict()


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/resend",
    response=documented({202: DeliveryOut}, WRITE_ERRORS),
    summary="再送 / Resend a delivery",
)
def resend(request: HttpRequest, endpoint_id: str, delivery_id: str) -> tuple[int, dict[str, Any]]:
    """ワーカーがすぐに再送し、失敗した場合は新しい再送スケジュール (最長3日) で再試行します。"""
    shop = shop_of(request)
    delivery = selectors.get_delivery(shop, _endpoint(request, endpoint_id), _delivery_pk(delivery_id))
    services.resend(delivery)
    return 202, delivery_out(selectors.get_delivery(shop, delivery.endpoint, delivery.pk))
