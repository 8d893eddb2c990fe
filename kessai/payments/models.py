"""Orders, payments, their append-only operation history, and the 決済エラーログ."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kessai.common.ids import IdFactory
from kessai.payments import tokens
from kessai.payments.state import Action, PaymentState
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop


class OrderStatus(models.TextChoices):
    """対応状況 — the shop's own fulfilment status, separate from the payment state."""

    NEW = "new", _("新規受付")
    PROCESSING = "processing", _("取り寄せ中")
    SHIPPED = "shipped", _("発送済み")
    COMPLETED = "completed", _("完了")
    CANCELLED = "cancelled", _("キャンセル")


class Order(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("ord"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="orders")
    shop_order_no = models.CharField(_("注文番号"), max_length=100)
    amount = models.IntegerField(_("総合計金額"))
    fee = models.IntegerField(_("決済手数料"), default=0)
    items = models.JSONField(default=list)  # [{"sku", "name", "unit_price", "quantity"}]
    customer = models.JSONField(default=dict)
    destinations = models.JSONField(default=list)
    # Flattened for search and listing.
    customer_name = models.CharField(_("氏名"), max_length=100, blank=True)
    customer_phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    customer_email = models.CharField(max_length=255, blank=True)
    prefecture = models.CharField(_("都道府県"), max_length=8, blank=True)
    status = models.CharField(_("対応状況"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.NEW)
    needs_review = models.BooleanField(_("要確認"), default=False)
    created_at = models.DateTimeField(_("受注日"), auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "shop_order_no"], name="order_unique_no_per_shop")]
        indexes = [
            models.Index(fields=["shop", "-id"], name="order_shop_id_desc"),
            models.Index(fields=["shop", "customer_phone"], name="order_shop_phone"),
            models.Index(fields=["shop", "customer_name"], name="order_shop_name"),
        ]

    def __str__(self) -> str:
        return self.shop_order_no


class CaptureMode(models.TextChoices):
    MANUAL = "manual", _("仮売上")
    IMMEDIATE = "immediate", _("即時売上確定")


class Payment(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("pay"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="payments")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.PROTECT, related_name="payments", null=True, blank=True
    )
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(_("決済会社"), max_length=40)
    provider_ref = models.CharField(_("決済ID"), max_length=100, blank=True, db_index=True)
    shop_transaction_no = models.CharField(max_length=100)
    state = models.CharField(
        _("決済状況"),
        max_length=20,
        choices=[(s.value, s.value) for s in PaymentState],
        default=PaymentState.CREATED,
    )
    capture_mode = models.CharField(max_length=10, choices=CaptureMode.choices, default=CaptureMode.MANUAL)
    amount = models.IntegerField(_("利用金額"))
    captured_amount = models.IntegerField(default=0)
    refunded_amount = models.IntegerField(default=0)
    needs_review = models.BooleanField(_("要確認"), default=False)
    review_reason = models.CharField(max_length=500, blank=True)
    decline_code = models.CharField(max_length=40, blank=True)
    decline_message = models.CharField(max_length=500, blank=True)
    superseded_refs = models.JSONField(default=list, blank=True)
    # The buyer's provider token (kept: the janitor re-sends a lost token charge with it), never in plaintext:
    # AES-GCM under the key ring, AAD = this payment; read and written through ``buyer_token`` (payments/tokens.py).
    # The digest finds the payment of a token (atone's 認証Webhook).
    buyer_token_encrypted = models.TextField(blank=True, editable=False)
    buyer_token_digest = models.CharField(max_length=64, blank=True, editable=False)
    checkout_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    next_action = models.JSONField(null=True, blank=True)
    shipment_reported = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "shop_transaction_no"], name="payment_unique_transaction_no_per_account"
            )
        ]
        indexes = [
            models.Index(fields=["shop", "state", "-id"], name="payment_shop_state"),
            models.Index(fields=["shop", "provider", "-id"], name="payment_shop_provider"),
            models.Index(fields=["account", "buyer_token_digest"], name="payment_buyer_token_digest"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def buyer_token(self) -> str:
        """The buyer's provider token, decrypted ("" for none)."""
        return tokens.unseal(self.buyer_token_encrypted, aad=tokens.payment_aad(self.id))

    @buyer_token.setter
    def buyer_token(self, token: str) -> None:
        self.buyer_token_encrypted = tokens.seal(token, aad=tokens.payment_aad(self.id))
        self.buyer_token_digest = tokens.digest(token)

    @property
    def state_enum(self) -> PaymentState:
        return PaymentState(self.state)


class OperationResult(models.TextChoices):
    PENDING = "pending", _("処理中")
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失敗")
    UNKNOWN = "unknown", _("結果不明")


class Operation(models.Model):
    """One step in a payment's history (the 「決済情報」 dialog's table). Rows are never deleted;
    a row's result moves only pending → succeeded | failed | unknown, and unknown → succeeded |
    failed when ``refresh`` learns the outcome."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("op"), editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(_("処理区分"), max_length=20, choices=[(a.value, a.value) for a in Action])
    amount = models.IntegerField(_("利用額"), default=0)
    result = models.CharField(max_length=10, choices=OperationResult.choices, default=OperationResult.PENDING)
    provider_ref = models.CharField(max_length=100, blank=True)
    provider_code = models.CharField(max_length=80, blank=True)
    message = models.CharField(max_length=500, blank=True)
    request_id = models.CharField(max_length=80, blank=True)
    actor = models.CharField(max_length=120)  # "user:<name>", "api_key:<id>", "scheduler", "webhook", "checkout"
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("処理日時"), auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["payment", "result"], name="operation_payment_result")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.result}"


class PaymentError(models.Model):
    """決済エラーログ: one row per failed provider call, kept until staff delete it."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("err"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="payment_errors")
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="errors")
    account = models.ForeignKey(ProviderAccount, on_delete=models.SET_NULL, null=True, blank=True)
    provider = models.CharField(_("決済種別"), max_length=40)
    link_key = models.CharField(_("リンクキー"), max_length=120, blank=True)
    operation = models.CharField(_("処理区分"), max_length=20, blank=True)
    status = models.CharField(_("ステータス"), max_length=40)
    code = models.CharField(max_length=80, blank=True)
    message = models.CharField(max_length=1000)
    request_id = models.CharField(max_length=80, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("登録日"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.provider} {self.code}"


class BuyerToken(models.Model):
    """A buyer's provider token (atone authentication_token), sent as pre_token next time and used
    for server-side charges. Keyed by the buyer's normalised e-mail within a shop's account."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="buyer_tokens")
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="buyer_tokens")
    customer_key = models.CharField(max_length=255)
    # The token, never in plaintext: AES-GCM under the key ring, AAD = (account, customer_key), the row's unique
    # natural key; read and written through ``token`` (payments/tokens.py). The digest is not indexed: no code
    # path looks a row up by its token (rows are found by customer and by provider member number).
    token_encrypted = models.TextField(editable=False)
    token_digest = models.CharField(max_length=64, editable=False)
    buyer_id = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "customer_key"], name="buyer_token_unique_customer")]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.customer_key}"

    @property
    def aad(self) -> bytes:
        """Associated data binding the token ciphertext to this row (set ``token`` again if customer_key changes)."""
        return tokens.buyer_token_aad(self.account_id, self.customer_key)

    @property
    def token(self) -> str:
        """The buyer's provider token, decrypted."""
        return tokens.unseal(self.token_encrypted, aad=self.aad)

    @token.setter
    def token(self, token: str) -> None:
        self.token_encrypted = tokens.seal(token, aad=self.aad)
        self.token_digest = tokens.digest(token)


class ProviderReference(models.Model):
    """Every provider transaction id a payment has had (current and superseded), for webhook lookups."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="+")
    ref = models.CharField(max_length=100)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="references")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "ref"], name="provider_reference_unique")]

    def __str__(self) -> str:
        return self.ref


class BulkJobState(models.TextChoices):
    QUEUED = "queued", _("待機中")
    RUNNING = "running", _("実行中")
    DONE = "done", _("完了")


class BulkJob(models.Model):
    """A bulk action over many payments (一括売上確定, 伝票番号同期 …), run by the worker with progress."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("job"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="bulk_jobs")
    action = models.CharField(max_length=30)
    payment_ids = models.JSONField(default=list)
    params = models.JSONField(default=dict, blank=True)  # per-payment parameters, e.g. tracking numbers
    actor = models.CharField(max_length=120)
    state = models.CharField(max_length=10, choices=BulkJobState.choices, default=BulkJobState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list)  # [{"payment_id", "ok", "state", "code", "message"}]
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.action} {self.done}/{self.total}"
