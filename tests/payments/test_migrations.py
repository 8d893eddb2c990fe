"""Migrations 0003/0004: plaintext buyer tokens already in the database are sealed, their digests filled and the
plaintext columns dropped; the reverse puts them back.

Runs Django's migration executor on the test database (SQLite or PostgreSQL), so it needs real transactions."""

from __future__ import annotations

import pytest

from kessai.payments import tokens
from kessai.payments.models import BuyerToken, Payment
from tests import factories
from tests.migration_helpers import columns, migrate, raw

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("payments", "0002_bulkjob")]
AFTER = [("payments", "0004_drop_plaintext_buyer_tokens")]
TOKEN = "tk_legacy_plaintext_token_31337"


def test_existing_plaintext_tokens_are_sealed_and_the_plaintext_columns_dropped(fake_ledger):
    shop = factories.shop()
    account = factories.fake_account(shop)
    order = factories.order(shop)
    try:
        executor = migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        old_payment = old.get_model("payments", "Payment").objects.create(
            shop_id=shop.id,
            order_id=order.id,
            account_id=account.id,
            provider="fake",
            shop_transaction_no=order.shop_order_no,
            amount=order.amount,
            buyer_token=TOKEN,
        )
        old.get_model("payments", "BuyerToken").objects.create(
            shop_id=shop.id, account_id=account.id, customer_key="ken@example.jp", token=TOKEN
        )
    finally:
        migrate(AFTER)

    assert "buyer_token" not in columns("payments_payment")
    assert "token" not in columns("payments_buyertoken")
    assert TOKEN not in repr(raw("SELECT * FROM payments_payment"))
    assert TOKEN not in repr(raw("SELECT * FROM payments_buyertoken"))
    payment = Payment.objects.get(pk=old_payment.pk)
    row = BuyerToken.objects.get()
    assert (payment.buyer_token, payment.buyer_token_digest) == (TOKEN, tokens.digest(TOKEN))
    assert (row.token, row.token_digest) == (TOKEN, tokens.digest(TOKEN))


def test_the_migration_is_reversible(fake_ledger):
    shop = factories.shop()
    factories.fake_method(shop)
    payment = factories.authorized_payment(shop)
    payment.buyer_token = TOKEN
    payment.save(update_fields=["buyer_token_encrypted", "buyer_token_digest"])
    try:
        migrate(BEFORE)

        assert raw("SELECT buyer_token FROM payments_payment") == [(TOKEN,)]
        assert "buyer_token_encrypted" not in columns("payments_payment")
    finally:
        migrate(AFTER)

    assert Payment.objects.get(pk=payment.pk).buyer_token == TOKEN
