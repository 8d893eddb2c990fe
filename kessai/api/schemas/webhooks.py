"""Webhook endpoints (outbound, signed) and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from kessai.api.pagination import PageParams
from kessai.api.schemas.common import EnvironmentName, InputSchema
from kessai.webhooks.models import WebhookDelivery, WebhookEndpoint
from kessai.webhooks.outbound.events import EventType

DELIVERY_PREFIX = "dlv_"


class WebhookEndpointIn(InputSchema):
    url: str = Field(max_length=500, description="送信先URL (本番インストールでは https のみ)")
    description: str = Field("", max_length=200)
    event_types: list[EventType] = Field(
        default_factory=list, max_length=20, description="受け取るイベント種別。空 = すべて"
    )


class WebhookEndpointOut(Schema):
    id: str
    url: str
    description: str
    event_types: list[str]
    environment: EnvironmentName
    active: bool
    created_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        description="ローテーション前のシークレットでも署名する期限 / old secret also signs until"
    )


class WebhookEndpointWithSecretOut(WebhookEndpointOut):
    secret: str = Field(description="whsec_… — 作成時とローテーション時にだけ返します / shown only now")


class WebhookEndpointList(Schema):
    data: list[WebhookEndpointOut]
    has_more: bool
    next_cursor: str | None


class DeliveryAttemptOut(Schema):
    attempted_at: datetime
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryOut(Schema):
    id: str
    event: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int = Field(description="現在の再送スケジュールでの試行回数")
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    attempt_log: list[DeliveryAttemptOut]


class DeliveryList(Schema):
    data: list[DeliveryOut]
    has_more: bool
    next_cursor: str | None


class DeliveryListParams(PageParams):
    status: Literal["pending", "succeeded", "failed"] | None = None


def endpoint_out(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
        "environment": endpoint.environment,
        "active": endpoint.active,
        "created_at": endpoint.created_at,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at if endpoint.previous_secret else None,
    }
    if with_secret:
        data["secret"] = endpoint.secret
    return data


def delivery_public_id(delivery: WebhookDelivery) -> str:
    return f"{DELIVERY_PREFIX}{delivery.pk}"


def delivery_out(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery_public_id(delivery),
        "event": delivery.event_id,
        "event_type": delivery.event.type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "attempt_log": [
            {
                "attempted_at": a.attempted_at,
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in delivery.attempt_log.all()
        ],
    }
