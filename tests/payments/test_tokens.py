"""Buyers' provider tokens at rest: sealed under the key ring and bound to their row, found by digest, re-encrypted
by ``kessai rotate-keys``, and the migration that sealed the former plaintext columns."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.management import call_command
from django.db import connection

from kessai.payments import services, tokens
from kessai.payments.models import BuyerToken, Payment
from kessai.shops.keyring import KeyRing, KeyRingError
from tests import factories

TOKEN = "tk_plain_buyer_token_4711x"
OTHER_TOKEN = "tk_other_buyer_token_0815y"


@pytest.fixture
def method(fake_ledger):
    return factories.fake_method(factories.shop())


def token_payment(method, token: str = TOKEN) -> Payment:
    """A payment charged with a saved token (its buyer token is kept) and the customer's saved token row."""
    payment = services.start_payment(
        factories.order(method.shop), method_ref=method.id, actor="test", authentication_token=token
    ).payment
    services.remember_buyer_token(payment, token, "member-1")
    return Payment.objects.get(pk=payment.pk)


def raw_rows(table: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - fixed table names
        return list(cursor.fetchall())


@pytest.mark.django_db
def test_the_database_holds_no_plaintext_token(method):
    payment = token_payment(method)

    payment_rows, token_rows = raw_rows("payments_payment"), raw_rows("payments_buyertoken")

    assert (len(payment_rows), len(token_rows)) == (1, 1)
    assert TOKEN not in repr(payment_rows)
    assert TOKEN not in repr(token_rows)
    assert payment.buyer_token_encrypted.startswith("v1:")
    assert payment.buyer_token == TOKEN
    assert BuyerToken.objects.get().token == TOKEN


@pytest.mark.django_db
def test_the_digest_columns_are_the_sha256_of_the_token(method):
    payment = token_payment(method)

    expected = hashlib.sha256(TOKEN.encode()).hexdigest()
    assert payment.buyer_token_digest == expected
    assert BuyerToken.objects.get().token_digest == expected
    assert tokens.digest("") == ""


@pytest.mark.django_db
def test_a_payment_without_a_token_stores_empty_columns(method):
    payment = factories.authorized_payment(method.shop, method)

    payment.refresh_from_db()
    assert (payment.buyer_token_encrypted, payment.buyer_token_digest, payment.buyer_token) == ("", "", "")


@pytest.mark.django_db
def test_a_ciphertext_copied_onto_another_row_does_not_decrypt(method):
    first, second = token_payment(method), token_payment(method, OTHER_TOKEN)

    second.buyer_token_encrypted = first.buyer_token_encrypted
    with pytest.raises(KeyRingError):
        _ = second.buyer_token
    row = BuyerToken.objects.get(customer_key=services.customer_key(first.order))
    row.customer_key = "someone-else@example.jp"
    with pytest.raises(KeyRingError):
        _ = row.token


@pytest.mark.django_db
def test_an_authentication_notice_finds_the_payment_by_the_tokens_digest(method):
    payment = token_payment(method)
    BuyerToken.objects.all().delete()

    stored = services.record_authentication(payment.account, token=TOKEN, buyer_id="member-9")

    assert stored is not None
    row = BuyerToken.objects.get()
    assert (row.customer_key, row.buyer_id, row.token) == (services.customer_key(payment.order), "member-9", TOKEN)


@pytest.mark.django_db
def test_an_unknown_token_without_a_member_number_is_not_stored(method):
    payment = token_payment(method)
    BuyerToken.objects.all().delete()

    assert services.record_authentication(payment.account, token=OTHER_TOKEN) is None
    assert BuyerToken.objects.count() == 0


@pytest.mark.django_db
def test_a_new_token_for_a_known_member_is_sealed_onto_its_row(method):
    payment = token_payment(method)

    services.record_authentication(payment.account, token=OTHER_TOKEN, buyer_id="member-1")

    row = BuyerToken.objects.get()
    assert (row.token, row.token_digest) == (OTHER_TOKEN, tokens.digest(OTHER_TOKEN))
    assert OTHER_TOKEN not in repr(raw_rows("payments_buyertoken"))


@pytest.mark.django_db
def test_rotate_keys_re_encrypts_the_buyer_tokens_and_reports_them(method, settings, capsys):
    payment = token_payment(method)
    old_ring = settings.KESSAI_SECRET_KEYS
    settings.KESSAI_SECRET_KEYS = f"new1:{KeyRing.generate_key()},{old_ring}"

    call_command("rotate_keys", "--json")

    out = json.loads(capsys.readouterr().out)
    assert (out["payment_tokens_rotated"], out["payment_tokens_total"]) == (1, 1)
    assert (out["buyer_tokens_rotated"], out["buyer_tokens_total"]) == (1, 1)
    payment.refresh_from_db()
    row = BuyerToken.objects.get()
    assert payment.buyer_token_encrypted.startswith("v1:new1:")
    assert row.token_encrypted.startswith("v1:new1:")
    settings.KESSAI_SECRET_KEYS = settings.KESSAI_SECRET_KEYS.split(",")[0]  # the old key can now be dropped
    assert (payment.buyer_token, row.token) == (TOKEN, TOKEN)
    assert payment.buyer_token_digest == tokens.digest(TOKEN)

    call_command("rotate_keys")

    assert capsys.readouterr().out == (
        "re-encrypted 0 of 1 provider accounts and 0 of 0 subscription tokens under key 'new1', "
        "plus 0 of 1 payments' buyer tokens, 0 of 1 saved buyer tokens and 0 of 0 inbound webhook bodies\n"
    )
