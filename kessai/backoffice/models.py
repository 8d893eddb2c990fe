"""Back-office records: the staff audit log, per-user preferences and the shop's login policy."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kessai.shops.models import Shop


class AuditEntry(models.Model):
    """操作ログ: one row per staff action (who, what, when, before/after). Append-only."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    username = models.CharField(_("操作者"), max_length=150)  # kept when the user is deleted
    action = models.CharField(_("操作"), max_length=60)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=80, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(_("日時"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["shop", "-id"], name="audit_shop_id_desc"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.target_type}:{self.target_id}"


class StaffPreference(models.Model):
    """What one staff user chose to see (受注リスト columns); remembered across sessions."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    order_columns = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class ShopSecurityPolicy(models.Model):
    """Login rules an owner sets for the shop's staff (二段階認証を必須にする)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="security_policy")
    require_otp = models.BooleanField(_("スタッフに二段階認証を必須にする"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.shop_id}: require_otp={self.require_otp}"
