"""Which operations a provider offers (its declared Capabilities) — decides which buttons show."""

from __future__ import annotations

from kessai.payments.gateway import provider_for
from kessai.providers import registry
from kessai.providers.base import Capabilities
from kessai.providers.credentials import UnknownProvider
from kessai.shops.models import ProviderAccount, Shop


def for_account(account: ProviderAccount) -> Capabilities | None:
    """The account's adapter capabilities, or None when this version has no adapter for the provider."""
    if not registry.info(account.provider).has_adapter:
        return None
    try:
        return provider_for(account).capabilities
    except UnknownProvider:
        return None


def for_provider(code: str) -> Capabilities | None:
    """Class-level capabilities (no credentials decrypted): for list pages."""
    try:
        return registry.adapter_class(code).capabilities  # type: ignore[attr-defined,no-any-return]
    except (UnknownProvider, ImportError, AttributeError):
        return None


def invoice_providers(shop: Shop) -> set[str]:
    """Providers of the shop's active accounts that issue an enclosed invoice (請求書ダウンロード)."""
    codes = set(ProviderAccount.objects.filter(shop=shop, active=True).values_list("provider", flat=True))
    return {code for code in codes if (caps := for_provider(code)) is not None and caps.enclosed_invoice}
