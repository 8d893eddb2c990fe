"""継続課金: subscriptions (継続課金会員), their cycles (one per billing date), shop settings and mail templates.

A cycle is keyed by ``(subscription, cycle_date)`` — unique in the database — and each charge attempt of a
cycle is a :class:`~kessai.payments.models.Payment` on the cycle's order (first attempt
``SUB-<id>-<YYYYMMDD>``, 再決済 ``…-R2``, ``…-R3``); ``cycle.payment`` is the latest attempt and the
earlier ones stay on the order as history.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kessai.common.ids import IdFactory
from kessai.payments.models import Order, Payment
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop


def default_retry_days() -> list[int]:
    return [3, 7]


class BillingSettings(models.Model):
    """Per-shop 継続課金 settings: automatic 再決済 schedule and the result-mail address."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="billing_settings")
    auto_retry = models.BooleanField(_("自動再決済"), default=False)
    # Days after the cycle date on which a failed charge is retried automatically (e.g. [3, 7]).
    retry_days = models.JSONField(_("再決済日(課金日からの日数)"), default=default_retry_days)
    admin_email = models.EmailField(_("結果通知メールの送信先"), blank=True)  # empty: the shop's admin address
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"billing settings of {self.shop_id}"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("継続中")
    STOPPED = "stopped", _("停止")


class Subscription(models.Model):
    """継続課金会員: one recurring contract of one customer with one provider account."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("sub"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="subscriptions")
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="subscriptions")
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.PROTECT, related_name="subscriptions", null=True, blank=True
    )
    origin_payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )  # the first checkout, when the subscription came from one
    order_no = models.CharField(_("注文番号"), max_length=100)
    member_no = models.CharField(_("会員No"), max_length=40, blank=True)
    customer = models.JSONField(default=dict)  # {"name", "name_kana", "email", "phone", "zip_code", "address", …}
    customer_name = models.CharField(_("契約者名"), max_length=100)
    customer_email = models.CharField(max_length=255, blank=True)
    items = models.JSONField(default=list)  # [{"sku", "name", "unit_price", "quantity"}], Σ = amount
    amount = models.IntegerField(_("決済金額"))
    initial_amount = models.IntegerField(_("受注時金額"))
    # The buyer's provider token (atone authentication_token): AES-GCM under the key ring, AAD = this row.
    token_encrypted = models.TextField(editable=False)
    interval_months = models.PositiveSmallIntegerField(_("課金間隔(月)"), default=1)
    billing_day = models.PositiveSmallIntegerField(_("課金日"))  # 1–28, or 1–31 when anchored on the application
    renewal_interval_months = models.PositiveSmallIntegerField(_("契約更新間隔(月)"), null=True, blank=True)
    renewal_day = models.PositiveSmallIntegerField(null=True, blank=True)
    applied_at = models.DateTimeField(_("お申込み日"))
    first_billing_on = models.DateField(_("初回課金日"))
    next_billing_on = models.DateField(_("次回課金日"), null=True, blank=True)
    next_renewal_on = models.DateField(_("次回契約更新日"), null=True, blank=True)
    status = models.CharField(
        _("契約"), max_length=10, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("継続課金会員")
        indexes = [
            # The due-run claim reads due subscriptions in (next_billing_on, id) order, 10–20 at a time: with ``id``
            # in the index the scan stops at the batch; without it PostgreSQL sorted every due row per batch (293 ms
            # a claim at 100,000 due — quadratic over a run; docs/benchmarks.md).
            models.Index(fields=["status", "next_billing_on", "id"], name="subscription_due_order"),
            models.Index(fields=["shop", "-id"], name="subscription_shop_id_desc"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def aad(self) -> bytes:
        """Associated data binding the token ciphertext to this row."""
        return f"subscription-token:{self.id}".encode()

    @property
    def key(self) -> str:
        """The subscription part of every cycle key and ``shop_transaction_no``."""
        return self.id.removeprefix("sub_")

    @property
    def is_active(self) -> bool:
        return self.status == SubscriptionStatus.ACTIVE


class CycleStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("予定")
    CHARGED = "charged", _("課金済み")
    FAILED = "failed", _("決済エラー")
    SKIPPED = "skipped", _("スキップ")


class Trigger(models.TextChoices):
    CHECKOUT = "checkout", _("初回決済")
    SCHEDULE = "schedule", _("自動継続課金")
    MANUAL = "manual", _("手動課金")
    RETRY = "retry", _("再決済")
    AUTO_RETRY = "auto_retry", _("自動再決済")


class SubscriptionCycle(models.Model):
    """One billing date of one subscription. The (subscription, cycle_date) key is the guard that makes a
    cycle chargeable at most once; it is written (committed) before any provider call."""

    id = models.CharField(primary_key=True, max_length=40, default=IdFactory("cyc"), editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="subscription_cycles")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="cycles")
    cycle_date = models.DateField(_("課金日"))
    status = models.CharField(_("状態"), max_length=10, choices=CycleStatus.choices, default=CycleStatus.SCHEDULED)
    amount = models.IntegerField(_("決済金額"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_retry_on = models.DateField(_("次回再決済日"), null=True, blank=True)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.SCHEDULE)
    message = models.CharField(_("処理結果"), max_length=500, blank=True)  # the provider's reason on failure
    claimed_at = models.DateTimeField(null=True, blank=True)  # when a worker last took the cycle
    charged_at = models.DateTimeField(null=True, blank=True)
    admin_notified = models.BooleanField(default=True)  # False: the current result awaits the result mail
    subscriber_notified = models.BooleanField(default=True)  # False: the completion mail awaits sending
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cycle_date"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "cycle_date"], name="cycle_unique_subscription_date")
        ]
        indexes = [
            models.Index(fields=["status", "claimed_at"], name="cycle_status_claimed"),
            # 自動再決済 claims in (next_retry_on, id) order, a batch at a time: read from the index, not sorted
            models.Index(fields=["status", "next_retry_on", "id"], name="cycle_retry_due_order"),
            models.Index(
                fields=["shop", "admin_notified"],
                name="cycle_admin_unnotified",
                condition=models.Q(admin_notified=False),
            ),
            models.Index(
                fields=["shop", "subscriber_notified"],
                name="cycle_sub_unnotified",
                condition=models.Q(subscriber_notified=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}@{self.cycle_date.isoformat()}"


class MailKind(models.TextChoices):
    RESULT_OK = "result_ok", _("自動決済結果通知メール(正常時)")
    RESULT_ERROR = "result_error", _("自動決済結果通知メール(エラー時)")
    COMPLETION = "completion", _("自動継続課金完了メール")


class MailTemplate(models.Model):
    """A shop's own version of one mail (Django template syntax). Absent: the default file is used."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="billing_mail_templates")
    kind = models.CharField(max_length=20, choices=MailKind.choices)
    subject = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "kind"], name="billing_mail_template_unique")]

    def __str__(self) -> str:
        return f"{self.shop_id}:{self.kind}"
