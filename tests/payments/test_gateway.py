"""The per-process adapter cache of payments.gateway: one adapter per account configuration, rebuilt as soon as
anything it is built from changes (credentials, options, base URL, settings), never shared between accounts."""

from __future__ import annotations

import pytest
from django.test import override_settings

from kessai.payments.gateway import provider_for
from kessai.shops import services as shop_services
from kessai.shops.models import ProviderAccount
from tests import factories

pytestmark = pytest.mark.django_db


def fresh(account: ProviderAccount) -> ProviderAccount:
    return ProviderAccount.objects.get(pk=account.pk)


def test_an_unchanged_account_reuses_its_adapter(fake_ledger):
    account = factories.fake_account(factories.shop())

    first = provider_for(fresh(account))

    assert provider_for(fresh(account)) is first
    assert provider_for(fresh(account))._inner.settings.credentials["api_secret"] == "s3cr3t-value-xyz"


def test_new_credentials_options_or_settings_build_a_new_adapter(fake_ledger):
    account = factories.fake_account(factories.shop())
    before = provider_for(fresh(account))

    shop_services.update_provider_account(fresh(account), credentials={"api_secret": "n3w-s3cr3t-value"})
    rotated = provider_for(fresh(account))
    assert rotated is not before
    assert rotated._inner.settings.credentials["api_secret"] == "n3w-s3cr3t-value"

    shop_services.update_provider_account(fresh(account), options={"capture": "immediate"})
    with_options = provider_for(fresh(account))
    assert with_options is not rotated
    assert with_options._inner.settings.options == {"capture": "immediate"}

    with override_settings(KESSAI_PROVIDER_TIMEOUT=3.0):
        shorter = provider_for(fresh(account))
    assert shorter is not with_options
    assert shorter._inner.settings.timeout == 3.0


def test_two_accounts_never_share_an_adapter(fake_ledger):
    shop = factories.shop()
    one = factories.fake_account(shop)
    other = factories.fake_account(factories.shop("別ショップ"), secret="other-s3cr3t-value")

    assert provider_for(fresh(one)) is not provider_for(fresh(other))
    assert provider_for(fresh(other))._inner.settings.credentials["api_secret"] == "other-s3cr3t-value"
