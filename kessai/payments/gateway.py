"""Build a ready-to-call provider adapter for a stored account (the only place credentials are decrypted
for use)."""

from __future__ import annotations

from typing import cast

from django.conf import settings

from kessai.common.metrics import InstrumentedProvider
from kessai.providers import registry
from kessai.providers.base import Provider, ProviderSettings
from kessai.shops.models import Environment, ProviderAccount
from kessai.shops.services import decrypt_credentials


def effective_base_url(account: ProviderAccount) -> str | None:
    """Invariant 6: an override is honoured only for test accounts in sandbox-enabled installs."""
    if account.base_url and account.environment == Environment.TEST and settings.KESSAI_ALLOW_SANDBOX:
        return account.base_url
    return None


def provider_for(account: ProviderAccount) -> Provider:
    """The account's adapter, instrumented (latency and outcome of every call go to /metrics)."""
    adapter = registry.build(
        account.provider,
        ProviderSettings(
            credentials=decrypt_credentials(account),
            environment="production" if account.environment == Environment.PRODUCTION else "test",
            base_url=effective_base_url(account),
            options=dict(account.options or {}),
            timeout=settings.KESSAI_PROVIDER_TIMEOUT,
        ),
    )
    return cast(Provider, InstrumentedProvider(adapter))
