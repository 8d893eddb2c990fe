"""Stored idempotent requests (Stripe semantics, Zulip's ``IdempotentRequest``).

A row is created — in its own committed transaction — when a POST carrying an ``Idempotency-Key``
starts executing, and completed with the response it produced. The same key with the same request
replays that response; with another request it is refused (409); while the first request still runs
a duplicate is refused (409). Rows expire after 24 hours (``kessai.api.idempotency.purge_expired``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from kessai.shops.models import Shop


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "in_progress"
    DONE = "done", "done"


class IdempotencyKey(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path, environment and body
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.CharField(max_length=12, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    locked_at = models.DateTimeField(default=timezone.now)  # when the current execution began
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="idempotency_key_unique_per_shop")]

    def __str__(self) -> str:
        return f"{self.shop_id}:{self.key} ({self.status})"
