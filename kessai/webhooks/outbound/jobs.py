"""Periodic jobs of outbound webhooks, run by ``kessai worker``'s scheduler."""

from __future__ import annotations

from kessai.common.scheduler import PeriodicJob, register


def register_jobs() -> None:
    register(PeriodicJob("webhooks-fan-out", "kessai.webhooks.outbound.dispatch:fan_out", 2.0))
    register(PeriodicJob("webhooks-deliver", "kessai.webhooks.outbound.delivery:deliver_due", 2.0))
