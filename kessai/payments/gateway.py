"""Build a ready-to-call provider adapter for a stored account (the only place credentials are decrypted
for use).

Adapters are immutable once built (settings in, a fresh HTTP client per request), so one adapter per account
configuration is kept in a small per-process cache: a worker charging thousands of subscriptions of one account
decrypts its credentials once instead of once per call. The cache key is everything the adapter is built from —
the account's ciphertext, environment, base URL and options, the adapter registered for its provider, the
provider timeout, and (as a digest) the key ring — so any change of the account or of the settings builds a new
adapter, and a ciphertext whose key left the ring fails to decrypt exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import cast

from django.conf import settings

from kessai.common.metrics import InstrumentedProvider
from kessai.providers import registry
from kessai.providers.base import Provider, ProviderSettings
from kessai.shops.models import Environment, ProviderAccount
from kessai.shops.services import decrypt_credentials

CACHE_SIZE = 128

_cache: OrderedDict[tuple[object, ...], Provider] = OrderedDict()
_cache_lock = threading.Lock()


def effective_base_url(account: ProviderAccount) -> str | None:
    """Invariant 6: an override is honoured only for test accounts in sandbox-enabled installs."""
    if account.base_url and account.environment == Environment.TEST and settings.KESSAI_ALLOW_SANDBOX:
        return account.base_url
    return None


def _build(account: ProviderAccount, base_url: str | None) -> Provider:
    adapter = registry.build(
        account.provider,
        ProviderSettings(
            credentials=decrypt_credentials(account),
            environment="production" if account.environment == Environment.PRODUCTION else "test",
            base_url=base_url,
            options=dict(account.options or {}),
            timeout=settings.KESSAI_PROVIDER_TIMEOUT,
        ),
    )
    return cast(Provider, InstrumentedProvider(adapter))


def _cache_key(account: ProviderAccount, base_url: str | None) -> tuple[object, ...]:
    ring = hashlib.blake2b(str(settings.KESSAI_SECRET_KEYS).encode(), digest_size=16).digest()
    return (
        account.pk,
        account.provider,
        registry.ADAPTERS.get(account.provider),
        account.environment,
        account.credentials_encrypted,
        base_url,
        json.dumps(account.options or {}, sort_keys=True, default=str),
        settings.KESSAI_PROVIDER_TIMEOUT,
        ring,
    )


def provider_for(account: ProviderAccount) -> Provider:
    """The account's adapter, instrumented (latency and outcome of every call go to /metrics)."""
    base_url = effective_base_url(account)
    if account._state.adding:  # not saved (a form being checked): built for this use only
        return _build(account, base_url)
    key = _cache_key(account, base_url)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    provider = _build(account, base_url)
    with _cache_lock:
        _cache[key] = provider
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return provider


def clear_cache() -> None:
    """Forget every cached adapter (tests; never needed for correctness: the key changes with the account)."""
    with _cache_lock:
        _cache.clear()
