"""Background jobs of the billing app (run by ``kessai worker``'s scheduler). Each is idempotent: running it
twice, or on several workers at once, charges no cycle twice (see services.run_due)."""

from __future__ import annotations

from django.conf import settings
from django_tasks import task

from kessai.billing import services
from kessai.common.metrics import BILLING_CYCLES


def run_due_cycles() -> dict[str, int]:
    """The periodic job: one pass over due cycles (threads: ``KESSAI_BILLING_CONCURRENCY``). Its outcomes are
    counted in ``kessai_billing_cycles_total`` of the worker that ran it."""
    result = services.run_due(concurrency=settings.KESSAI_BILLING_CONCURRENCY).as_dict()
    for outcome, n in result.items():
        if n:
            BILLING_CYCLES.labels(outcome).inc(n)
    return result


@task(queue_name="billing")
def run_due_task() -> dict[str, int]:
    return run_due_cycles()
