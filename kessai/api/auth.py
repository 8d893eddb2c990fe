"""``Authorization: Bearer sk_test_…`` / ``sk_live_…``: the shop's secret API key.

The key decides the shop (tenant) and the environment: a test key only touches test-environment
provider accounts and their payments, a live key only production ones.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from kessai.shops.models import ApiKey, Environment, Shop
from kessai.shops.services import authenticate_api_key

_CACHE_ATTR = "_kessai_api_key"


def api_key_from_request(request: HttpRequest) -> ApiKey | None:
    """Authenticate once per request (the idempotency layer needs the shop before ninja's auth runs)."""
    if hasattr(request, _CACHE_ATTR):
        cached: ApiKey | None = getattr(request, _CACHE_ATTR)
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    key = authenticate_api_key(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    setattr(request, _CACHE_ATTR, key)
    return key


class ApiKeyAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> ApiKey | None:
        return api_key_from_request(request)

    def authenticate(self, request: HttpRequest, token: str) -> Any:  # pragma: no cover - __call__ overrides
        return api_key_from_request(request)


def current_key(request: HttpRequest) -> ApiKey:
    key = getattr(request, "auth", None)
    if not isinstance(key, ApiKey):  # ninja runs the auth before any handler
        raise RuntimeError("API handler reached without an authenticated key")
    return key


def shop_of(request: HttpRequest) -> Shop:
    return current_key(request).shop


def environment_of(request: HttpRequest) -> str:
    """``test`` or ``production`` — the environment of the key's provider accounts."""
    return Environment.PRODUCTION if current_key(request).environment == Environment.PRODUCTION else Environment.TEST


def actor_of(request: HttpRequest) -> str:
    return f"api_key:{current_key(request).id}"
