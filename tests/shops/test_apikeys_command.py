"""kessai apikeys: rotation of a shop's API keys from the command line."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kessai.shops.services import authenticate_api_key
from tests import factories

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command("apikeys", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_a_key_is_rotated_by_creating_the_new_one_then_revoking_the_old_one():
    shop = factories.shop()
    old = run("create", "--shop", shop.id, "--environment", "production", "--name", "cart 2026-10")
    new = run("create", "--shop", shop.id, "--environment", "production", "--name", "cart 2026-11")
    assert new["api_key"].startswith("sk_live_")
    assert authenticate_api_key(old["api_key"]) is not None

    revoked = run("revoke", old["id"])

    assert revoked["revoked_at"] is not None
    assert authenticate_api_key(old["api_key"]) is None
    assert authenticate_api_key(new["api_key"]).id == new["id"]
    listed = run("list", "--shop", shop.id)["keys"]
    assert [(k["id"], k["revoked_at"] is not None) for k in listed] == [(new["id"], False), (old["id"], True)]
    text = json.dumps(listed)
    assert old["api_key"] not in text
    assert new["api_key"] not in text
    assert listed[0]["key"] == f"sk_live_…{new['api_key'][-4:]}"


def test_unknown_shops_and_keys_are_refused():
    with pytest.raises(CommandError, match="no shop"):
        run("list", "--shop", "shop_missing")
    with pytest.raises(CommandError, match="no API key"):
        run("revoke", "key_missing")
