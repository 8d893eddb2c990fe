"""Webhooks: the outbound event outbox (written in the same transaction as the state change)."""

from __future__ import annotations

from django.db import models

from kessai.common.ids import IdFactory
from kessai.shops.models import Shop


class OutboundEvent(models.Model):
    """An event for the shop's webhook endpoints (payment.authorized, …). Delivery reads this outbox."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("evt"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
