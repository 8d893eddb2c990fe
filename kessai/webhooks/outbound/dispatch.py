"""Fan-out: every new outbox event becomes one delivery per matching endpoint (a periodic job).

Events are claimed with ``FOR UPDATE SKIP LOCKED`` so that several workers split the work; the
deliveries and the ``dispatched_at`` mark are written in one transaction, and the unique
(endpoint, event) constraint makes a repeated fan-out harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from kessai.payments.models import Payment, PaymentError
from kessai.webhooks.models import OutboundEvent, WebhookDelivery, WebhookEndpoint


def _payload_id(payload: Any, key: str) -> str:
    inner = payload.get(key) if isinstance(payload, dict) else None
    value = inner.get("id") if isinstance(inner, dict) else None
    return value if isinstance(value, str) else ""


def event_environments(events: Iterable[OutboundEvent]) -> dict[str, str | None]:
    """The environment (test / production) each event belongs to: ``payload["environment"]`` when the
    publisher set it, else that of the payment or error it is about. None: unknown (every endpoint)."""
    events = list(events)
    payment_ids = {_payload_id(e.payload, "payment") for e in events} - {""}
    error_ids = {_payload_id(e.payload, "payment_error") for e in events} - {""}
    by_payment = dict(Payment.objects.filter(pk__in=payment_ids).values_list("pk", "account__environment"))
    by_error = dict(PaymentError.objects.filter(pk__in=error_ids).values_list("pk", "account__environment"))
    found: dict[str, str | None] = {}
    for event in events:
        explicit = event.payload.get("environment") if isinstance(event.payload, dict) else None
        found[event.id] = (
            explicit
            or by_payment.get(_payload_id(event.payload, "payment"))
            or by_error.get(_payload_id(event.payload, "payment_error"))
        )
    return found


def wants(endpoint: WebhookEndpoint, event: OutboundEvent, environment: str | None) -> bool:
    if environment is not None and endpoint.environment != environment:
        return False
    if endpoint.created_at > event.created_at:
        return False  # endpoints receive events from their registration on
    return not endpoint.event_types or event.type in endpoint.event_types


def fan_out(*, now: datetime | None = None, batch: int = 500) -> int:
    """Create deliveries for undispatched events. Returns the number of deliveries created."""
    now = now or timezone.now()
    with transaction.atomic():
        events = list(
            OutboundEvent.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True)
            .order_by("id")[:batch]
        )
        if not events:
            return 0
        environments = event_environments(events)
        endpoints: dict[str, list[WebhookEndpoint]] = {}
        for endpoint in WebhookEndpoint.objects.filter(shop_id__in={e.shop_id for e in events}, active=True):
            endpoints.setdefault(endpoint.shop_id, []).append(endpoint)
        rows = [
            WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now)
            for event in events
            for endpoint in endpoints.get(event.shop_id, [])
            if wants(endpoint, event, environments[event.id])
        ]
        event_ids = [e.pk for e in events]
        before = WebhookDelivery.objects.filter(event_id__in=event_ids).count()
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        created = WebhookDelivery.objects.filter(event_id__in=event_ids).count() - before
        OutboundEvent.objects.filter(pk__in=event_ids).update(dispatched_at=now)
    return created
