"""Delivery from the worker: sign, POST, log, retry with exponential backoff for up to three days.

Schedule after a failed attempt (Standard Webhooks' recommendation, stretched to three days):
5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h … while the next attempt stays within 72 hours of the first
— 12 attempts in all. Then the delivery is ``failed``; a manual resend starts a fresh schedule.

Due deliveries are claimed with ``FOR UPDATE SKIP LOCKED`` and leased (``next_attempt_at`` pushed past
the HTTP timeout) in a short transaction, then sent with no lock held: several workers never send the
same delivery at once, and a worker that dies mid-send only delays the retry until the lease ends.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kessai.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookDeliveryAttempt
from kessai.webhooks.outbound.services import is_private_host, valid_secrets
from kessai.webhooks.outbound.signing import headers_for

log = logging.getLogger(__name__)

RETRY_WINDOW = timedelta(days=3)
_BASE_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)


def _schedule() -> tuple[timedelta, ...]:
    delays = list(_BASE_DELAYS)
    while sum(delays, timedelta()) + timedelta(hours=10) <= RETRY_WINDOW:
        delays.append(timedelta(hours=10))
    return tuple(delays)


RETRY_DELAYS = _schedule()
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)
LEASE = timedelta(seconds=60)  # longer than one attempt can take
USER_AGENT = "Kessai-Webhooks/1"


def next_delay(attempts_made: int) -> timedelta | None:
    """The wait after the ``attempts_made``-th failed attempt, or None: give up."""
    if attempts_made < 1 or attempts_made > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempts_made - 1]


def envelope(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    body = {
        "id": event.id,
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "environment": delivery.endpoint.environment,
        "data": event.payload,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    error: str
    response_body: str
    duration_ms: int


def _blocked(url: str) -> bool:
    """Production installs never post to private addresses, whatever the DNS says today."""
    if settings.KESSAI_ALLOW_SANDBOX:
        return False
    host = urlsplit(url).hostname or ""
    if is_private_host(host):
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # httpx reports the resolution failure
    return any(is_private_host(str(info[4][0])) for info in infos)


def attempt(delivery: WebhookDelivery, client: httpx.Client, now: datetime) -> AttemptResult:
    body = envelope(delivery)
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **headers_for(valid_secrets(delivery.endpoint, now), delivery.event_id, timestamp, body),
    }
    started = time.monotonic()
    if _blocked(delivery.endpoint.url):
        return AttemptResult(False, None, "blocked: private address", "", 0)
    try:
        response = client.post(delivery.endpoint.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return AttemptResult(False, None, f"{type(exc).__name__}: {exc}"[:500], "", elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    ok = 200 <= response.status_code < 300
    return AttemptResult(
        ok, response.status_code, "" if ok else f"HTTP {response.status_code}", response.text[:500], elapsed
    )


def claim_due(now: datetime, limit: int) -> list[int]:
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + LEASE)
    return ids


def record(delivery: WebhookDelivery, result: AttemptResult, now: datetime) -> WebhookDelivery:
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        WebhookDeliveryAttempt.objects.create(
            delivery=locked,
            attempted_at=now,
            status_code=result.status_code,
            error=result.error[:500],
            response_body=result.response_body[:500],
            duration_ms=result.duration_ms,
        )
        locked.attempts += 1
        locked.last_status_code = result.status_code
        locked.last_error = result.error[:500]
        if result.ok:
            locked.status = DeliveryStatus.SUCCEEDED
        else:
            delay = next_delay(locked.attempts)
            if delay is None:
                locked.status = DeliveryStatus.FAILED
            else:
                locked.next_attempt_at = now + delay
        locked.save()
    return locked


def deliver_due(
    *,
    now: datetime | None = None,
    limit: int = 50,
    client_factory: Callable[[], httpx.Client] | None = None,
) -> dict[str, Any]:
    """Periodic job: send every due delivery once. ``now`` is injectable for tests."""
    now = now or timezone.now()
    ids = claim_due(now, limit)
    sent = failed = 0
    if not ids:
        return {"sent": 0, "failed": 0}
    factory = client_factory or (lambda: httpx.Client(timeout=TIMEOUT, follow_redirects=False))
    with factory() as client:
        for delivery in WebhookDelivery.objects.select_related("endpoint", "event").filter(pk__in=ids).order_by("id"):
            result = attempt(delivery, client, now)
            record(delivery, result, now)
            if result.ok:
                sent += 1
            else:
                failed += 1
                log.info("webhook delivery %s to %s failed: %s", delivery.pk, delivery.endpoint.url, result.error)
    return {"sent": sent, "failed": failed}
