"""Background jobs of the billing app (run by ``kessai worker``'s scheduler). Each is idempotent: running it
twice, or on several workers at once, charges no cycle twice (see services.run_due)."""

from __future__ import annotations

import os

from django_tasks import task

from kessai.billing import services


def run_due_cycles() -> dict[str, int]:
    """The periodic job: one pass over due cycles (concurrency from ``KESSAI_BILLING_CONCURRENCY``)."""
    concurrency = int(os.environ.get("KESSAI_BILLING_CONCURRENCY", "1"))
    return services.run_due(concurrency=max(1, concurrency)).as_dict()


@task(queue_name="billing")
def run_due_task() -> dict[str, int]:
    return run_due_cycles()
