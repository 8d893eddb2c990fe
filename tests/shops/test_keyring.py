"""Credential encryption: round trip, rotation, row binding, and no plaintext in the database."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection

from kessai.shops.keyring import KeyRing, KeyRingError
from kessai.shops.services import decrypt_credentials, masked_credentials
from tests import factories

KEY_A = "a:" + KeyRing.generate_key()
KEY_B = "b:" + KeyRing.generate_key()
SECRET = "super-secret-api-value-9876"


def test_round_trip_and_row_binding() -> None:
    ring = KeyRing.parse(KEY_A)
    token = ring.encrypt(b"hello", aad=b"row-1")

    assert ring.decrypt(token, aad=b"row-1") == b"hello"
    assert token.startswith("v1:a:")
    with pytest.raises(KeyRingError):
        ring.decrypt(token, aad=b"row-2")


def test_each_encryption_uses_a_fresh_nonce() -> None:
    ring = KeyRing.parse(KEY_A)
    assert ring.encrypt(b"same", aad=b"x") != ring.encrypt(b"same", aad=b"x")


@pytest.mark.parametrize(
    "spec", ["", "nokey", "a:short", f"{KEY_A},{KEY_A}"], ids=["empty", "no-colon", "short", "duplicate"]
)
def test_bad_key_ring_specs_are_refused(spec: str) -> None:
    with pytest.raises(KeyRingError):
        KeyRing.parse(spec)


@pytest.mark.django_db
def test_raw_database_row_holds_no_plaintext_secret(fake_ledger, settings) -> None:
    settings.KESSAI_SECRET_KEYS = KEY_A
    account = factories.fake_account(factories.shop(), secret=SECRET)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM shops_provideraccount WHERE id = %s", [account.id])
        row = cursor.fetchone()
    assert SECRET not in repr(row)
    assert decrypt_credentials(account)["api_secret"] == SECRET
    assert masked_credentials(account)["api_secret"] == "••••••••9876"


@pytest.mark.django_db
def test_rotate_keys_re_encrypts_under_the_new_primary_key(fake_ledger, settings, capsys) -> None:
    settings.KESSAI_SECRET_KEYS = KEY_A
    account = factories.fake_account(factories.shop(), secret=SECRET)
    assert account.credentials_encrypted.startswith("v1:a:")

    settings.KESSAI_SECRET_KEYS = f"{KEY_B},{KEY_A}"
    call_command("rotate_keys", "--json")

    out = json.loads(capsys.readouterr().out)
    assert (out["primary_key"], out["rotated"], out["total"]) == ("b", 1, 1)
    account.refresh_from_db()
    assert account.credentials_encrypted.startswith("v1:b:")
    settings.KESSAI_SECRET_KEYS = KEY_B  # the old key can now be dropped
    assert decrypt_credentials(account)["api_secret"] == SECRET
