"""Background jobs of the payments app (run by ``kessai worker``). Each is idempotent."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone
from django_tasks import task

from kessai.payments import services
from kessai.payments.models import Payment
from kessai.payments.state import InvalidTransition, PaymentState
from kessai.providers import registry
from kessai.providers.base import ProviderError
from kessai.providers.credentials import UnknownProvider

log = logging.getLogger(__name__)


def refresh_in_doubt_payments(limit: int = 100) -> dict[str, int]:
    """The janitor: query the provider for every payment whose last outcome is unknown (or whose
    operation was abandoned mid-call) and settle it. Never retries a money movement blindly."""
    settled = failed = 0
    for payment_id in services.resolve_refresh_targets(limit):
        payment = Payment.objects.select_related("account", "order").get(pk=payment_id)
        try:
            services.refresh(payment, actor="janitor")
            settled += 1
        except (ProviderError, InvalidTransition) as exc:
            log.warning("janitor could not refresh %s: %s", payment_id, getattr(exc, "message", exc))
            failed += 1
    return {"settled": settled, "failed": failed}


@task(queue_name="default")
def janitor() -> dict[str, int]:
    return refresh_in_doubt_payments()


def held_state_providers(codes: set[str]) -> set[str]:
    """The provider codes among ``codes`` whose adapter declares a 保留/審査中 state (``held_state``)."""
    held: set[str] = set()
    for code in codes:
        try:
            capabilities = getattr(registry.adapter_class(code), "capabilities", None)
        except UnknownProvider:
            continue
        if capabilities is not None and capabilities.held_state:
            held.add(code)
    return held


def refresh_held_payments(limit: int = 100, *, now: datetime | None = None) -> dict[str, int]:
    """与信保留 / 審査中: ask the provider again (与信結果確認) for held payments, least recently updated first,
    so a provider's manual review or a correction made in its console reaches the hub. A payment still held
    after its account's ``hold_timeout_hours`` becomes NG (:func:`services.expire_hold`: cancelled at the
    provider, then declined). Each payment is one refresh, plus one cancel when it expires."""
    now = now or timezone.now()
    held = Payment.objects.filter(state=PaymentState.PENDING_REVIEW).exclude(provider_ref="")
    providers = held_state_providers(set(held.values_list("provider", flat=True).distinct()))
    counts = {"refreshed": 0, "resolved": 0, "expired": 0, "failed": 0}
    ids = list(held.filter(provider__in=providers).order_by("updated_at", "id").values_list("pk", flat=True)[:limit])
    for payment_id in ids:
        payment = Payment.objects.select_related("account", "order").get(pk=payment_id)
        try:
            payment = services.refresh(payment, actor="scheduler")
            counts["refreshed"] += 1
            if payment.state != PaymentState.PENDING_REVIEW:
                counts["resolved"] += 1
            elif services.hold_expired(payment, now=now):
                services.expire_hold(payment, actor="scheduler", now=now)
                counts["expired"] += 1
        except (ProviderError, InvalidTransition) as exc:
            log.warning("could not refresh held payment %s: %s", payment_id, getattr(exc, "message", exc))
            counts["failed"] += 1
    return counts


@task(queue_name="default")
def held_payments() -> dict[str, int]:
    return refresh_held_payments()
