"""Inbound webhook bodies at rest: the inbox keeps each provider notice sealed under the key ring, bound to its row
(account, dedup key), opened only through ``InboundWebhook.body``, and re-encrypted by ``kessai rotate-keys``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from kessai.payments.models import BuyerToken, PaymentError
from kessai.shops.keyring import KeyRing, KeyRingError
from kessai.webhooks import inbound, sealing
from kessai.webhooks.models import InboundWebhook
from tests.integration.atone import hub

pytestmark = pytest.mark.django_db

TOKEN = "tk_SEALEDINBOXTOKEN000000001"
OTHER_TOKEN = "tk_SEALEDINBOXTOKEN000000002"
NAME = "封緘 花子"


@pytest.fixture
def atone() -> Iterator[hub.AtoneShop]:
    for emulator in hub.running_emulator():
        yield hub.atone_shop(emulator)


def notice(token: str = TOKEN, user_no: str = "1000000077") -> bytes:
    """An atone 認証Webhook, with the buyer's personal data a 決済Webhook would carry too."""
    return json.dumps(
        {"authentication_token": token, "user_no": user_no, "customer": {"customer_name": NAME}}, ensure_ascii=False
    ).encode()


def receive(account: Any, body: bytes) -> InboundWebhook:
    return inbound.receive(account, "authentication", {"User-Agent": "atone-webhook"}, body)


def raw_inbox() -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM webhooks_inboundwebhook ORDER BY id")
        return list(cursor.fetchall())


def test_the_inbox_holds_no_token_and_no_notice_text(atone):
    receive(atone.account, notice())
    receive(atone.account, notice())  # the duplicate is stored too

    rows = raw_inbox()

    assert len(rows) == 2
    assert TOKEN not in repr(rows)
    assert NAME not in repr(rows)
    assert "authentication_token" not in repr(rows)
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(cursor, "webhooks_inboundwebhook")}
    assert ("body" in columns, "body_sealed" in columns) == (False, True)
    first, duplicate = InboundWebhook.objects.order_by("pk")
    assert first.body_sealed.startswith("v1:")
    assert (first.body, duplicate.body) == (notice().decode(), notice().decode())
    assert (first.status, duplicate.status) == ("received", "duplicate")
    assert duplicate.dedup_key.startswith(f"{first.dedup_key}#dup-")


def test_the_row_returned_by_receive_reads_its_body(atone):
    row = receive(atone.account, notice())

    assert row.body == notice().decode()
    assert InboundWebhook.objects.get(pk=row.pk).body == notice().decode()


def test_receiving_is_still_one_statement(atone, django_assert_num_queries):
    body = notice()
    inbound._dedup_key(atone.account, "authentication", {}, body)  # warm the provider (its credentials) up

    with django_assert_num_queries(1):
        receive(atone.account, body)


def test_a_sealed_notice_is_still_applied(atone):
    row = receive(atone.account, notice())

    assert inbound.process(row.pk) == "applied"

    assert BuyerToken.objects.get().token == TOKEN
    assert TOKEN not in repr(raw_inbox())


def test_a_ciphertext_moved_to_another_row_does_not_decrypt_and_the_notice_fails(atone):
    first = receive(atone.account, notice())
    second = receive(atone.account, notice(OTHER_TOKEN, "1000000078"))
    InboundWebhook.objects.filter(pk=second.pk).update(body_sealed=InboundWebhook.objects.get(pk=first.pk).body_sealed)
    moved = InboundWebhook.objects.get(pk=second.pk)

    with pytest.raises(KeyRingError):
        _ = moved.body

    assert inbound.process(second.pk) == "failed"
    assert InboundWebhook.objects.get(pk=second.pk).error == "受信した通知の本文を復号できません。"
    error = PaymentError.objects.get()
    assert (error.status, error.code) == ("webhook", "webhook:body_unreadable")
    assert not BuyerToken.objects.exists()  # the first row's token was not applied through the second row


def test_the_aad_binds_the_account_and_the_dedup_key(atone):
    sealed = sealing.seal("本文", account_id=atone.account.pk, dedup_key="k1")

    assert sealing.unseal(sealed, account_id=atone.account.pk, dedup_key="k1") == "本文"
    with pytest.raises(KeyRingError):
        sealing.unseal(sealed, account_id=atone.account.pk, dedup_key="k1#dup-0000")
    with pytest.raises(KeyRingError):
        sealing.unseal(sealed, account_id="acct_other", dedup_key="k1")


def test_rotate_keys_re_encrypts_the_inbox_and_reports_it(atone, settings, capsys):
    receive(atone.account, notice())
    receive(atone.account, notice())
    old_ring = settings.KESSAI_SECRET_KEYS
    settings.KESSAI_SECRET_KEYS = f"new1:{KeyRing.generate_key()},{old_ring}"

    call_command("rotate_keys", "--json")

    out = json.loads(capsys.readouterr().out)
    assert (out["inbound_webhooks_rotated"], out["inbound_webhooks_total"]) == (2, 2)
    rows = list(InboundWebhook.objects.order_by("pk"))
    assert [row.body_sealed.split(":")[1] for row in rows] == ["new1", "new1"]
    settings.KESSAI_SECRET_KEYS = settings.KESSAI_SECRET_KEYS.split(",")[0]  # the old key can now be dropped
    assert [row.body for row in rows] == [notice().decode(), notice().decode()]

    call_command("rotate_keys")

    assert capsys.readouterr().out.endswith(" 0 of 2 inbound webhook bodies\n")
