"""Background jobs for inbound provider webhooks (run by ``kessai worker``). Each is idempotent."""

from __future__ import annotations

from django_tasks import task

from kessai.webhooks import inbound


@task(queue_name="webhooks")
def process_inbound_webhook(inbound_id: int) -> str:
    """Apply one stored notice (enqueued on commit by the receiving view)."""
    return inbound.process(inbound_id)


def sweep_inbound_webhooks() -> dict[str, int]:
    """Periodic: notices whose task was lost, and transient failures due for a retry."""
    return inbound.process_due()
