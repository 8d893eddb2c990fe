"""Read paths for webhook endpoints and their delivery log. Shop first, like every selector."""

from __future__ import annotations

from django.db.models import QuerySet

from kessai.shops.errors import NotFound
from kessai.shops.models import Shop
from kessai.webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoints(shop: Shop, *, environment: str | None = None) -> QuerySet[WebhookEndpoint]:
    qs = WebhookEndpoint.objects.filter(shop=shop)
    if environment is not None:
        qs = qs.filter(environment=environment)
    return qs.order_by("-id")


def get_endpoint(shop: Shop, endpoint_id: str, *, environment: str | None = None) -> WebhookEndpoint:
    endpoint = endpoints(shop, environment=environment).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(endpoint_id)
    return endpoint


def deliveries(shop: Shop, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(endpoint__shop=shop, endpoint=endpoint)
        .select_related("event")
        .prefetch_related("attempt_log")
        .order_by("-id")
    )


def get_delivery(shop: Shop, endpoint: WebhookEndpoint, delivery_pk: int) -> WebhookDelivery:
    delivery = deliveries(shop, endpoint).filter(pk=delivery_pk).first()
    if delivery is None:
        raise NotFound(str(delivery_pk))
    return delivery
