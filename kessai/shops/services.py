"""Use cases for tenants and their configuration. The only code that writes shops' settings."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from kessai.providers import registry
from kessai.providers.credentials import UnknownProvider
from kessai.shops.errors import ValidationFailed
from kessai.shops.fees import FeeTierError, parse_tiers
from kessai.shops.keyring import ring_from_settings
from kessai.shops.models import (
    ApiKey,
    Environment,
    FeeRule,
    Membership,
    PaymentMethod,
    ProviderAccount,
    Role,
    Shop,
)

ALLOWED_HTML_TAGS = {"p", "br", "a", "strong", "em", "b", "i", "ul", "ol", "li", "span", "img", "small"}


# --------------------------------------------------------------------------- shops and staff


def create_shop(*, name: str, company: str = "", site_url: str = "", admin_email: str = "") -> Shop:
    if not name.strip():
        raise ValidationFailed({"name": "ショップ名を入力してください。"})
    return Shop.objects.create(name=name.strip(), company=company, site_url=site_url, admin_email=admin_email)


def add_staff(shop: Shop, *, username: str, password: str, role: Role = Role.OPERATOR, email: str = "") -> Membership:
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model.objects.create_user(username=username, password=password, email=email)
    membership, _ = Membership.objects.update_or_create(user=user, shop=shop, defaults={"role": role})
    return membership


# --------------------------------------------------------------------------- API keys


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(shop: Shop, *, environment: str = Environment.TEST, name: str = "") -> tuple[ApiKey, str]:
    """Returns the stored key and the raw secret. The raw secret is never stored or shown again."""
    if environment not in Environment.values:
        raise ValidationFailed({"environment": "環境は test または production を指定してください。"})
    prefix = "sk_live_" if environment == Environment.PRODUCTION else "sk_test_"
    raw = prefix + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        shop=shop, environment=environment, name=name, key_hash=hash_api_key(raw), last4=raw[-4:]
    )
    return key, raw


def authenticate_api_key(raw: str) -> ApiKey | None:
    if not raw.startswith(("sk_test_", "sk_live_")):
        return None
    key = ApiKey.objects.select_related("shop").filter(key_hash=hash_api_key(raw), revoked_at__isnull=True).first()
    if key is not None and (key.last_used_at is None or (timezone.now() - key.last_used_at).total_seconds() > 60):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key


def revoke_api_key(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


# --------------------------------------------------------------------------- provider accounts


def _check_base_url(environment: str, base_url: str) -> str:
    """Invariant 6: credentials go only to the provider. Overrides are for test accounts in
    installs that allow sandboxes; production always uses the official hosts."""
    if not base_url:
        return ""
    if environment != Environment.TEST:
        raise ValidationFailed({"base_url": "本番環境のアカウントには接続先URLを指定できません。"})
    if not settings.KESSAI_ALLOW_SANDBOX:
        raise ValidationFailed({"base_url": "このインストールではサンドボックスへの接続が許可されていません。"})
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationFailed({"base_url": "接続先URLは http:// または https:// で始まるURLで入力してください。"})
    return base_url if base_url.endswith("/") else base_url + "/"


def _validated_credentials(provider: str, credentials: Mapping[str, object]) -> dict[str, str]:
    try:
        schema = registry.schema(provider)
    except (UnknownProvider, KeyError):
        raise ValidationFailed({"provider": f"未対応の決済会社です: {provider}"}, code="unknown_provider") from None
    outcome = schema.validate(credentials)
    if not outcome.ok:
        raise ValidationFailed({f"credentials.{k}": v for k, v in outcome.errors.items()})
    return outcome.cleaned


def encrypt_credentials(account: ProviderAccount, values: Mapping[str, str]) -> None:
    account.credentials_encrypted = ring_from_settings().encrypt_json(values, aad=account.aad)


def decrypt_credentials(account: ProviderAccount) -> dict[str, str]:
    return ring_from_settings().decrypt_json(account.credentials_encrypted, aad=account.aad)


def masked_credentials(account: ProviderAccount) -> dict[str, str]:
    return registry.schema(account.provider).mask(decrypt_credentials(account))


@transaction.atomic
def create_provider_account(
    shop: Shop,
    *,
    provider: str,
    environment: str,
    credentials: Mapping[str, object],
    options: Mapping[str, Any] | None = None,
    base_url: str = "",
    active: bool = True,
) -> ProviderAccount:
    if environment not in Environment.values:
        raise ValidationFailed({"environment": "環境は test または production を指定してください。"})
    cleaned = _validated_credentials(provider, credentials)
    base_url = _check_base_url(environment, base_url)
    if active:
        _check_production_gates(ProviderAccount(shop=shop, provider=provider, environment=environment))
        ProviderAccount.objects.select_for_update().filter(shop=shop, provider=provider, active=True).update(
            active=False
        )
    account = ProviderAccount(
        shop=shop,
        provider=provider,
        environment=environment,
        options=dict(options or {}),
        base_url=base_url,
        active=active,
    )
    encrypt_credentials(account, cleaned)
    account.save()
    return account


@transaction.atomic
def update_provider_account(
    account: ProviderAccount,
    *,
    credentials: Mapping[str, object] | None = None,
    options: Mapping[str, Any] | None = None,
    base_url: str | None = None,
    active: bool | None = None,
) -> ProviderAccount:
    account = ProviderAccount.objects.select_for_update().get(pk=account.pk)
    if credentials is not None:
        # Blank secret fields mean "keep the stored value" (the form shows them masked).
        current = decrypt_credentials(account)
        merged: dict[str, object] = dict(current)
        secret_keys = registry.schema(account.provider).secret_keys()
        for key, value in credentials.items():
            if key in secret_keys and (value is None or value == ""):
                continue
            merged[key] = value
        encrypt_credentials(account, _validated_credentials(account.provider, merged))
        account.last_test_ok_at = None
    if options is not None:
        account.options = {**account.options, **options}
    if base_url is not None:
        account.base_url = _check_base_url(account.environment, base_url)
    if active is not None and active != account.active:
        if active:
            _check_production_gates(account)
            ProviderAccount.objects.filter(shop=account.shop, provider=account.provider, active=True).exclude(
                pk=account.pk
            ).update(active=False)
        account.active = active
    account.save()
    return account


# --------------------------------------------------------------------------- production switch gate

ProductionGate = Callable[[ProviderAccount], None]
_production_gates: list[ProductionGate] = []


def register_production_gate(gate: ProductionGate) -> None:
    """A check run before a production account becomes active for a provider the shop has a test account
    of (the switch from test to production). It refuses by raising ``ValidationFailed``; nothing is saved.
    ``kessai.golive`` registers the go-live checklist's gate (docs/decisions/0002-golive-app.md)."""
    if gate not in _production_gates:
        _production_gates.append(gate)


def _check_production_gates(account: ProviderAccount) -> None:
    if account.environment != Environment.PRODUCTION:
        return
    tested = ProviderAccount.objects.filter(
        shop_id=account.shop_id, provider=account.provider, environment=Environment.TEST
    ).exists()
    if tested:
        for gate in _production_gates:
            gate(account)


def rotate_credentials_encryption() -> tuple[int, int]:
    """Re-encrypt every account's credentials under the primary key. Returns (rotated, total)."""
    ring = ring_from_settings()
    rotated = total = 0
    for account_id in ProviderAccount.objects.values_list("id", flat=True).order_by("id"):
        with transaction.atomic():
            account = ProviderAccount.objects.select_for_update().get(pk=account_id)
            total += 1
            if not ring.needs_rotation(account.credentials_encrypted):
                continue
            values = ring.decrypt_json(account.credentials_encrypted, aad=account.aad)
            account.credentials_encrypted = ring.encrypt_json(values, aad=account.aad)
            account.save(update_fields=["credentials_encrypted"])
            rotated += 1
    return rotated, total


def webhook_urls(account: ProviderAccount, *, public_url: str | None = None) -> dict[str, str]:
    """The inbound webhook URLs staff paste into the provider's merchant console (unguessable token)."""
    base = f"{public_url or settings.KESSAI_PUBLIC_URL}/hooks/{account.provider}/{account.id}"
    return {
        "payment": f"{base}/payment?token={account.webhook_token}",
        "authentication": f"{base}/authentication?token={account.webhook_token}",
    }


# --------------------------------------------------------------------------- payment methods


def sanitize_description(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_HTML_TAGS, link_rel="noopener noreferrer")


def create_payment_method(
    shop: Shop,
    *,
    provider_account: ProviderAccount,
    code: str,
    name: str,
    description: str = "",
    banner_url: str = "",
    banner_link: str = "",
    active: bool = True,
    sort: int | None = None,
) -> PaymentMethod:
    errors: dict[str, str] = {}
    if provider_account.shop_id != shop.id:
        errors["provider_account"] = "外部連携アカウントが見つかりません。"
    if not name.strip():
        errors["name"] = "支払方法名を入力してください。"
    if not code.strip():
        errors["code"] = "コードを入力してください。"
    elif PaymentMethod.objects.filter(shop=shop, code=code).exists():
        errors["code"] = "このコードは既に使われています。"
    if errors:
        raise ValidationFailed(errors)
    if sort is None:
        last = PaymentMethod.objects.filter(shop=shop).order_by("-sort").values_list("sort", flat=True).first()
        sort = (last or 0) + 1
    return PaymentMethod.objects.create(
        shop=shop,
        provider_account=provider_account,
        code=code.strip(),
        name=name.strip(),
        description=sanitize_description(description),
        banner_url=banner_url,
        banner_link=banner_link,
        active=active,
        sort=sort,
    )


def update_payment_method(
    method: PaymentMethod,
    *,
    name: str | None = None,
    description: str | None = None,
    banner_url: str | None = None,
    banner_link: str | None = None,
    active: bool | None = None,
    sort: int | None = None,
) -> PaymentMethod:
    """Change what buyers see (name, description, banner), 使用/停止 and the display order."""
    if name is not None and not name.strip():
        raise ValidationFailed({"name": "支払方法名を入力してください。"})
    changes: dict[str, object] = {
        "name": name.strip() if name is not None else None,
        "description": sanitize_description(description) if description is not None else None,
        "banner_url": banner_url,
        "banner_link": banner_link,
        "active": active,
        "sort": sort,
    }
    fields = [field for field, value in changes.items() if value is not None]
    for field in fields:
        setattr(method, field, changes[field])
    if fields:
        method.save(update_fields=fields)
    return method


def move_payment_methods(target: ProviderAccount) -> int:
    """Point the shop's payment methods of ``target``'s provider at ``target`` (本番切替: buyers keep the
    same 支払方法; past payments keep the account they were made with). Returns how many moved."""
    return (
        PaymentMethod.objects.filter(shop_id=target.shop_id, provider_account__provider=target.provider)
        .exclude(provider_account=target)
        .update(provider_account=target)
    )


def delete_payment_method(method: PaymentMethod) -> None:
    """Refused when past orders used it (as in Welcart): stop it instead."""
    if method.payments.exists():
        message = "この支払方法は受注で使用されているため削除できません。「停止」にしてください。"
        raise ValidationFailed({"payment_method": message}, code="payment_method_in_use")
    method.delete()


def reorder_payment_methods(shop: Shop, ordered_ids: list[str]) -> None:
    methods = {m.id: m for m in PaymentMethod.objects.filter(shop=shop)}
    if set(ordered_ids) != set(methods):
        raise ValidationFailed({"order": "支払方法の並び順が正しくありません。"})
    with transaction.atomic():
        for position, method_id in enumerate(ordered_ids, start=1):
            PaymentMethod.objects.filter(pk=method_id).update(sort=position)


# --------------------------------------------------------------------------- fee rules


def set_fee_rule(shop: Shop, provider: str, tiers: list[Mapping[str, object]], *, allow_gaps: bool = False) -> FeeRule:
    if not registry.is_known(provider):
        raise ValidationFailed({"provider": f"未対応の決済会社です: {provider}"}, code="unknown_provider")
    try:
        parsed = parse_tiers(tiers, allow_gaps=allow_gaps)
    except FeeTierError as exc:
        raise ValidationFailed({f"tiers[{exc.index}].{exc.field}": exc.message}) from None
    rule, _ = FeeRule.objects.update_or_create(
        shop=shop, provider=provider, defaults={"tiers": [t.as_dict() for t in parsed]}
    )
    return rule
