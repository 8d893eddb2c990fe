"""Go-live records: the shop's checkout copy, the pages it publishes, the evidence each check found,
and the switches to production (with the post-go-live test order)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kessai.shops.models import ProviderAccount, Shop


class CheckoutCopy(models.Model):
    """決済選択画面の文言: a shop's editable copy of a provider's official texts (defaults: the kit)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="checkout_copies")
    provider = models.CharField(_("決済会社"), max_length=40)
    name = models.CharField(_("決済名"), max_length=100)
    banner_url = models.URLField(_("バナー画像URL"), max_length=500, blank=True)
    banner_link = models.URLField(_("バナーのリンク先"), max_length=500, blank=True)
    description = models.TextField(_("説明文"), blank=True)  # sanitised HTML
    instructions = models.TextField(_("お支払い方法"), blank=True)  # sanitised HTML
    notes = models.TextField(_("注意事項"), blank=True)  # sanitised HTML
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "provider"], name="checkout_copy_unique_provider")]

    def __str__(self) -> str:
        return f"{self.shop_id}/{self.provider}"


class ShopPages(models.Model):
    """What the shop publishes and tells the provider: the pages the crawler checks, and the 準備完了連絡's
    company, site URL and contact (blank: the shop's own values)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="golive_pages")
    payment_guide_url = models.URLField(_("支払方法説明ページのURL"), max_length=500, blank=True)
    legal_notice_url = models.URLField(_("特定商取引法に基づく表記のURL"), max_length=500, blank=True)
    company = models.CharField(_("会社名"), max_length=200, blank=True)
    site_url = models.URLField(_("サイトURL"), max_length=500, blank=True)
    contact_name = models.CharField(_("ご担当者名"), max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"pages of {self.shop_id}"


class Evidence(models.Model):
    """What one check found, when, and who ran it (append-only). The checklist reads the newest row
    of each key; payments, webhooks and the account's 接続テスト time are read from their own tables."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="golive_evidence")
    provider = models.CharField(max_length=40)
    account = models.ForeignKey(
        ProviderAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="golive_evidence"
    )
    key = models.CharField(max_length=40)
    ok = models.BooleanField()
    detail = models.CharField(max_length=1000, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "provider", "key", "-created_at"], name="golive_evidence_latest")]

    def __str__(self) -> str:
        return f"{self.key} {'ok' if self.ok else 'ng'} {self.created_at}"


class ProductionSwitch(models.Model):
    """本番切替: a production account made active after the checklist passed, or by an owner's override
    (with the typed reason and the items that were not done). Its existence is what lets the account
    become active (``shops.services`` production gate). The 本番テスト注文 is tracked on it."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="production_switches")
    provider = models.CharField(max_length=40)
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="production_switches")
    from_account = models.ForeignKey(
        ProviderAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    username = models.CharField(_("切替者"), max_length=150)
    overridden = models.BooleanField(default=False)
    override_reason = models.TextField(_("確認未了のまま切り替える理由"), blank=True)
    open_items = models.JSONField(default=list, blank=True)  # [{"key", "title", "status", "detail"}]
    live_test_order_no = models.CharField(_("本番テスト注文の注文番号"), max_length=100, blank=True)
    live_test_recorded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(_("切替日時"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account_id} live since {self.created_at}"
