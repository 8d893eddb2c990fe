"""Tenants and their configuration: shops, staff, API keys, provider accounts, payment methods, fees."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kessai.common.ids import IdFactory


class Shop(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("shop"), editable=False)
    name = models.CharField(_("ショップ名"), max_length=200)
    company = models.CharField(_("会社名"), max_length=200, blank=True)
    site_url = models.URLField(_("サイトURL"), blank=True)
    contact_name = models.CharField(_("担当者名"), max_length=100, blank=True)
    admin_email = models.EmailField(_("管理者メールアドレス"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ショップ")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("オーナー")
    OPERATOR = "operator", _("オペレーター")
    VIEWER = "viewer", _("閲覧のみ")


class Membership(models.Model):
    """A staff user's role in one shop. Agency staff hold several memberships."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OPERATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "shop"], name="membership_unique_user_shop")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop_id} ({self.role})"

    @property
    def can_operate(self) -> bool:
        return self.role in (Role.OWNER, Role.OPERATOR)


class Environment(models.TextChoices):
    TEST = "test", _("テスト環境")
    PRODUCTION = "production", _("本番環境")


class ApiKey(models.Model):
    """A shop's secret API key. Only a SHA-256 hash is stored; the key is shown once."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("key"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys")
    environment = models.CharField(max_length=12, choices=Environment.choices)
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}…{self.last4}"

    @property
    def prefix(self) -> str:
        return "sk_live_" if self.environment == Environment.PRODUCTION else "sk_test_"


class ProviderAccount(models.Model):
    """A shop's contract with one provider in one environment. Credentials are AES-GCM encrypted."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("acct"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="provider_accounts")
    provider = models.CharField(_("決済会社"), max_length=40)
    environment = models.CharField(_("環境"), max_length=12, choices=Environment.choices)
    credentials_encrypted = models.TextField(editable=False)
    options = models.JSONField(default=dict, blank=True)
    base_url = models.URLField(_("接続先URL (サンドボックス)"), blank=True)
    active = models.BooleanField(_("有効"), default=True)
    webhook_token = models.CharField(max_length=64, default=secrets.token_urlsafe, editable=False)
    last_test_ok_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "provider"],
                condition=models.Q(active=True),
                name="one_active_account_per_provider",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} ({self.environment})"

    @property
    def aad(self) -> bytes:
        """Associated data binding the ciphertext to this row."""
        return f"provider-account:{self.id}".encode()

    def option(self, key: str, default: Any = None) -> Any:
        return (self.options or {}).get(key, default)


class PaymentMethod(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("pm"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="payment_methods")
    provider_account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="payment_methods")
    code = models.CharField(_("コード"), max_length=40)
    name = models.CharField(_("支払方法名"), max_length=100)
    description = models.TextField(_("説明"), blank=True)  # sanitised HTML
    banner_url = models.URLField(_("バナー画像URL"), blank=True)
    banner_link = models.URLField(_("バナーのリンク先"), blank=True)
    active = models.BooleanField(_("使用"), default=True)
    sort = models.PositiveIntegerField(_("表示順"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sort", "created_at"]
        constraints = [models.UniqueConstraint(fields=["shop", "code"], name="payment_method_unique_code")]

    def __str__(self) -> str:
        return self.name


class FeeRule(models.Model):
    """手数料設定: ordered, non-overlapping price-range tiers for one provider of one shop."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="fee_rules")
    provider = models.CharField(max_length=40)
    tiers = models.JSONField(default=list)  # [{"min_amount", "max_amount", "fee"}], validated by shops.fees
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "provider"], name="fee_rule_unique_provider")]

    def __str__(self) -> str:
        return f"{self.shop_id}/{self.provider}"
