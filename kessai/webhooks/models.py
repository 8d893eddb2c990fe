"""Webhooks: the outbound event outbox (written in the same transaction as the state change)."""

from __future__ import annotations

from django.db import models

from kessai.common.ids import IdFactory
from kessai.shops.models import Environment, Shop
from kessai.webhooks import sealing


class OutboundEvent(models.Model):
    """An event for the shop's webhook endpoints (payment.authorized, …). Delivery reads this outbox."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("evt"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set when the fan-out job has created this event's deliveries (kessai.webhooks.outbound.dispatch).
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(dispatched_at__isnull=True), name="outbound_event_undispatched"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "received"
    APPLIED = "applied", "applied"
    DUPLICATE = "duplicate", "duplicate"
    IGNORED = "ignored", "ignored"
    FAILED = "failed", "failed"


class InboundWebhook(models.Model):
    """Inbox of provider notifications: stored before they are acknowledged (invariant 4), then applied
    idempotently by the worker. ``dedup_key`` is unique per account (a duplicate's carries a ``#dup-…`` suffix)."""

    account = models.ForeignKey("shops.ProviderAccount", on_delete=models.CASCADE, related_name="inbound_webhooks")
    provider = models.CharField(max_length=40)
    kind = models.CharField(max_length=40)
    headers = models.JSONField(default=dict)
    # The raw notice, never in plaintext (atone's hold the buyer's token and personal data): AES-GCM under the key
    # ring, AAD = (account, dedup_key); read and written through ``body`` (webhooks/sealing.py).
    body_sealed = models.TextField(editable=False)
    dedup_key = models.CharField(max_length=128)
    status = models.CharField(max_length=12, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=1000, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "dedup_key"], name="inbound_webhook_dedup")]
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_webhook_status")]

    def __str__(self) -> str:
        return f"{self.provider}/{self.kind} {self.pk}"

    @property
    def body(self) -> str:
        """The notice's raw body, decrypted (``KeyRingError``: not this row's ciphertext, or its key is gone)."""
        return sealing.unseal(self.body_sealed, account_id=self.account_id, dedup_key=self.dedup_key)

    @body.setter
    def body(self, text: str) -> None:
        """Seal ``text`` onto this row: ``account`` and ``dedup_key`` must be set first (and never change)."""
        self.body_sealed = sealing.seal(text, account_id=self.account_id, dedup_key=self.dedup_key)


class WebhookEndpoint(models.Model):
    """A shop's URL for outbound events, Standard-Webhooks signed. During rotation two secrets are valid."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("we"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    # Events of test-environment payments go to test endpoints only (and production to production).
    environment = models.CharField(max_length=12, choices=Environment.choices, default=Environment.TEST)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)  # [] = every event
    secret = models.CharField(max_length=100)  # "whsec_" + base64
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"  # gave up after the retry schedule (3 days)


class WebhookDelivery(models.Model):
    """One event to one endpoint, with its attempts (the delivery log)."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboundEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_unique_event")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_id}→{self.endpoint_id} ({self.status})"


class WebhookDeliveryAttempt(models.Model):
    """One HTTP attempt of a delivery: the delivery log staff and integrators read."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_body = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
