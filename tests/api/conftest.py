"""Fixtures for API tests: a shop with the fake provider, its test API key and a validating client."""

from __future__ import annotations

import pytest

from kessai.shops import services as shop_services
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop
from tests import factories
from tests.api.client import ApiClient


@pytest.fixture
def shop(fake_ledger) -> Shop:
    return factories.shop()


@pytest.fixture
def account(shop: Shop) -> ProviderAccount:
    return factories.fake_account(shop)


@pytest.fixture
def method(shop: Shop, account: ProviderAccount) -> PaymentMethod:
    return factories.fake_method(shop, account)


@pytest.fixture
def api_key(shop: Shop) -> str:
    return shop_services.create_api_key(shop, environment="test", name="tests")[1]


@pytest.fixture
def client(api_key: str) -> ApiClient:
    return ApiClient(api_key)


@pytest.fixture
def live_client(shop: Shop) -> ApiClient:
    return ApiClient(shop_services.create_api_key(shop, environment="production", name="live")[1])
