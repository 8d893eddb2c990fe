"""Migrations 0004/0005: inbound webhook bodies already in the database are sealed under the key ring and the
plaintext column dropped; re-running the sealing step changes nothing; the reverse puts the plaintext back.

Runs Django's migration executor on the test database (SQLite or PostgreSQL), so it needs real transactions."""

from __future__ import annotations

import importlib
import json

import pytest
from django.db import connection

from kessai.webhooks import inbound
from kessai.webhooks.models import InboundWebhook
from tests import factories
from tests.migration_helpers import columns, migrate, raw

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("webhooks", "0003_outbound_delivery")]
SEALED = [("webhooks", "0004_seal_inbound_bodies")]
AFTER = [("webhooks", "0005_drop_plaintext_inbound_body")]
TOKEN = "tk_legacy_inbox_plaintext_27182"
BODY = json.dumps({"authentication_token": TOKEN, "user_no": "1000000099", "customer": {"customer_name": "旧 太郎"}})
sealing_step = importlib.import_module("kessai.webhooks.migrations.0004_seal_inbound_bodies")


def test_an_existing_plaintext_body_is_sealed_and_the_plaintext_column_dropped(fake_ledger):
    account = factories.fake_account(factories.shop())
    try:
        executor = migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps.get_model("webhooks", "InboundWebhook")
        for key in ("k1", "k1#dup-00000000"):
            old.objects.create(account_id=account.id, provider="fake", kind="authentication", body=BODY, dedup_key=key)
        old.objects.create(account_id=account.id, provider="fake", kind="payment", body="", dedup_key="empty")

        executor = migrate(SEALED)
        sealed = raw("SELECT id, body_sealed FROM webhooks_inboundwebhook ORDER BY id")
        with connection.schema_editor() as editor:  # re-run: rows already sealed are left alone
            sealing_step.seal_plaintext_bodies(executor.loader.project_state(SEALED).apps, editor)
        assert raw("SELECT id, body_sealed FROM webhooks_inboundwebhook ORDER BY id") == sealed
    finally:
        migrate(AFTER)

    assert "body" not in columns("webhooks_inboundwebhook")
    assert TOKEN not in repr(raw("SELECT * FROM webhooks_inboundwebhook"))
    rows = list(InboundWebhook.objects.order_by("pk"))
    assert [row.body for row in rows] == [BODY, BODY, ""]
    assert all(row.body_sealed.startswith("v1:") for row in rows)


def test_the_migration_is_reversible(fake_ledger):
    account = factories.fake_account(factories.shop())
    inbound.receive(account, "authentication", {}, BODY.encode())
    try:
        migrate(BEFORE)

        assert raw("SELECT body FROM webhooks_inboundwebhook") == [(BODY,)]
        assert "body_sealed" not in columns("webhooks_inboundwebhook")
    finally:
        migrate(AFTER)

    assert InboundWebhook.objects.get().body == BODY
