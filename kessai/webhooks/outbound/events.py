"""The event types a shop can subscribe to."""

from __future__ import annotations

from typing import Literal

EventType = Literal[
    "payment.authorized",
    "payment.declined",
    "payment.requires_review",
    "payment.captured",
    "payment.cancelled",
    "payment.amount_changed",
    "payment.refunded",
    "payment.shipment_reported",
    "payment.refreshed",
    "subscription.charged",
    "subscription.charge_failed",
    "payment_error.created",
]

EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
