"""Fixtures for outbound webhook tests: a shop with the fake provider and an authorized test payment."""

from __future__ import annotations

import pytest

from kessai.shops.models import Shop
from tests import factories


@pytest.fixture
def shop(fake_ledger) -> Shop:
    shop = factories.shop()
    factories.fake_method(shop)
    return shop
