"""Background jobs of the payments app (run by ``kessai worker``). Each is idempotent."""

from __future__ import annotations

import logging

from django_tasks import task

from kessai.payments import services
from kessai.payments.models import Payment
from kessai.payments.state import InvalidTransition
from kessai.providers.base import ProviderError

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
