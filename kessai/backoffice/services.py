"""Back-office use cases: the staff audit log, preferences, login policy, TOTP devices, and the few
staff-only writes that have no home in the domain apps (error-log deletion, 対応状況, 接続テスト).

Views call these; they never write models themselves. Every function that changes something takes the
acting user and writes an :class:`AuditEntry` in the same transaction.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from kessai.backoffice.models import AuditEntry, ShopSecurityPolicy, StaffPreference
from kessai.payments import connection, error_log
from kessai.payments.models import Order, OrderStatus, Payment, PaymentError
from kessai.providers.base import ConnectionCheck
from kessai.shops.errors import ValidationFailed
from kessai.shops.models import ProviderAccount, Shop

User = AbstractBaseUser | AnonymousUser

# 受注リスト columns staff can show or hide (the column chooser), in display order.
ORDER_COLUMNS: Sequence[str] = (
    "shop_order_no",
    "created_at",
    "status",
    "payment_method",
    "payment",
    "amount",
    "customer_name",
    "prefecture",
)
REQUIRED_ORDER_COLUMNS = frozenset({"shop_order_no"})


# --------------------------------------------------------------------------- audit log


@dataclass(frozen=True)
class Actor:
    """Who acts: the staff user and where the request came from."""

    user: Any
    ip_address: str | None = None

    @property
    def username(self) -> str:
        return str(getattr(self.user, "username", "") or "anonymous")

    @property
    def label(self) -> str:
        """What payment services store as the operation's actor."""
        return f"user:{self.username}"


def record(
    actor: Actor,
    shop: Shop | None,
    action: str,
    *,
    target_type: str = "",
    target_id: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    user = actor.user if getattr(actor.user, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        shop=shop,
        user=user,
        username=actor.username[:150],
        action=action[:60],
        target_type=target_type[:40],
        target_id=target_id[:80],
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        ip_address=actor.ip_address,
    )


def payment_snapshot(payment: Payment) -> dict[str, Any]:
    return {
        "state": payment.state,
        "amount": payment.amount,
        "captured_amount": payment.captured_amount,
        "refunded_amount": payment.refunded_amount,
        "provider_ref": payment.provider_ref,
        "needs_review": payment.needs_review,
    }


# --------------------------------------------------------------------------- preferences


def order_columns(user: Any) -> list[str]:
    pref = StaffPreference.objects.filter(user_id=user.pk).first()
    chosen = [c for c in (pref.order_columns if pref else []) if c in ORDER_COLUMNS]
    return chosen or list(ORDER_COLUMNS)


def set_order_columns(actor: Actor, columns: Iterable[str]) -> list[str]:
    wanted = set(columns) | REQUIRED_ORDER_COLUMNS
    unknown = wanted - set(ORDER_COLUMNS)
    if unknown:
        raise ValidationFailed({"columns": _("不明な列です: %(cols)s") % {"cols": ", ".join(sorted(unknown))}})
    chosen = [c for c in ORDER_COLUMNS if c in wanted]
    StaffPreference.objects.update_or_create(user_id=actor.user.pk, defaults={"order_columns": chosen})
    return chosen


# --------------------------------------------------------------------------- login policy and TOTP


def requires_otp(shop: Shop) -> bool:
    return ShopSecurityPolicy.objects.filter(shop=shop, require_otp=True).exists()


@transaction.atomic
def set_require_otp(actor: Actor, shop: Shop, required: bool) -> ShopSecurityPolicy:
    policy, _created = ShopSecurityPolicy.objects.select_for_update().get_or_create(shop=shop)
    before = {"require_otp": policy.require_otp}
    policy.require_otp = required
    policy.save()
    record(
        actor,
        shop,
        "security.require_otp",
        target_type="shop",
        target_id=shop.pk,
        before=before,
        after={"require_otp": required},
    )
    return policy


def confirmed_totp_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def pending_totp_device(user: Any) -> TOTPDevice:
    """The unconfirmed device shown on the setup page (created once, reused until confirmed)."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user_id=user.pk, name="Kessai", confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The base32 secret authenticator apps accept when typed in by hand."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


@transaction.atomic
def confirm_totp_device(actor: Actor, device: TOTPDevice, token: str) -> bool:
    token = "".join(ch for ch in token if ch.isdigit())
    if not token or not device.verify_token(token):
        return False
    TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save()
    record(actor, None, "otp.enabled", target_type="user", target_id=str(device.user_id))
    return True


@transaction.atomic
def disable_totp(actor: Actor, shops: Sequence[Shop]) -> None:
    required = [s.name for s in shops if requires_otp(s)]
    if required:
        raise ValidationFailed(
            {
                "otp": _("次のショップでは二段階認証が必須のため、解除できません: %(shops)s")
                % {"shops": "、".join(required)}
            }
        )
    TOTPDevice.objects.filter(user_id=actor.user.pk).delete()
    record(actor, None, "otp.disabled", target_type="user", target_id=str(actor.user.pk))


# --------------------------------------------------------------------------- orders and error log


@transaction.atomic
def set_order_status(actor: Actor, order: Order, status: str) -> Order:
    """対応状況 — the shop's own fulfilment status; independent of the payment (as in Welcart)."""
    if status not in OrderStatus.values:
        raise ValidationFailed({"status": _("対応状況を選択してください。")})
    locked = Order.objects.select_for_update().get(pk=order.pk, shop_id=order.shop_id)
    before = {"status": locked.status}
    locked.status = status
    locked.save(update_fields=["status"])
    record(
        actor,
        locked.shop,
        "order.status",
        target_type="order",
        target_id=locked.pk,
        before=before,
        after={"status": status},
    )
    return locked


@transaction.atomic
def delete_payment_errors(actor: Actor, shop: Shop, ids: Sequence[str] | None) -> int:
    """ログ削除: the selected entries (``ids``) or all of the shop's entries (``None``)."""
    if ids is not None and not ids:
        raise ValidationFailed({"ids": _("削除するログを選択してください。")})
    qs = PaymentError.objects.filter(shop=shop)
    deleted_ids = list((qs if ids is None else qs.filter(pk__in=list(ids))).values_list("pk", flat=True))
    count = error_log.delete_errors(shop, ids=deleted_ids)
    record(
        actor,
        shop,
        "payment_errors.delete",
        target_type="payment_error",
        target_id="all" if ids is None else "",
        before={"ids": deleted_ids},
        after={"deleted": len(deleted_ids)},
    )
    return count


# --------------------------------------------------------------------------- 接続テスト


def run_connection_test(actor: Actor, account: ProviderAccount) -> ConnectionCheck:
    """接続テスト from the settings screen: the shared test (records success on the account, failures in the
    決済エラーログ), plus the audit entry."""
    check = connection.run_connection_test(account)
    record(
        actor,
        account.shop,
        "provider_account.test",
        target_type="provider_account",
        target_id=account.pk,
        after={"ok": check.ok, "message": check.message},
    )
    return check
