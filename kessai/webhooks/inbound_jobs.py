"""Periodic jobs of the inbound side (registered by ``WebhooksConfig.ready``)."""

from __future__ import annotations

from kessai.common import scheduler

SWEEP_EVERY_SECONDS = 15.0


def register_inbound_jobs() -> None:
    # Inbound provider notices whose task was lost, and transient failures due for a retry.
    scheduler.register(
        scheduler.PeriodicJob("inbound-webhooks", "kessai.webhooks.tasks:sweep_inbound_webhooks", SWEEP_EVERY_SECONDS)
    )
