"""Fixtures for back-office tests: a shop with the fake provider, staff of each role, signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from kessai.payments.models import Payment
from kessai.shops import services as shop_services
from kessai.shops.models import Membership, PaymentMethod, Role, Shop
from tests import factories
from tests.fakes.provider import FakeLedger

PASSWORD = "correct horse battery staple 7"


@dataclass
class ShopWorld:
    shop: Shop
    method: PaymentMethod
    owner: Membership
    operator: Membership
    viewer: Membership


def make_world(name: str = "テストショップ", prefix: str = "") -> ShopWorld:
    shop = factories.shop(name)
    method = factories.fake_method(shop)
    members = {
        role: shop_services.add_staff(shop, username=f"{prefix}{role}", password=PASSWORD, role=Role(role))
        for role in ("owner", "operator", "viewer")
    }
    return ShopWorld(shop, method, members["owner"], members["operator"], members["viewer"])


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(fake_ledger: FakeLedger) -> ShopWorld:
    return make_world()


@pytest.fixture
def other_world(fake_ledger: FakeLedger) -> ShopWorld:
    return make_world("よそのショップ", prefix="other-")


def client_for(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def owner_client(world: ShopWorld) -> Client:
    return client_for(world.owner)


@pytest.fixture
def operator_client(world: ShopWorld) -> Client:
    return client_for(world.operator)


@pytest.fixture
def viewer_client(world: ShopWorld) -> Client:
    return client_for(world.viewer)


@pytest.fixture
def payment(world: ShopWorld) -> Payment:
    return factories.authorized_payment(world.shop, world.method)


@pytest.fixture
def no_axes_lockouts() -> Iterator[None]:
    from axes.models import AccessAttempt

    yield
    AccessAttempt.objects.all().delete()
