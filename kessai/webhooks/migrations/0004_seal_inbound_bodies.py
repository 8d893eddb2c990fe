"""Inbound webhook bodies at rest: a sealed column beside the plaintext ``body``, filled from it in batches (the
plaintext column is dropped by 0005, in its own transaction: PostgreSQL refuses to ALTER a table with pending
trigger events from rows updated in the same transaction).

The AAD format is written out here, frozen, rather than imported from ``kessai.webhooks.sealing``: this migration
must keep producing what the code of its time read. Safe to re-run (rows already sealed are left alone).
Reversible: the reverse step decrypts back into the plaintext column (which 0005's reverse re-creates).
"""

from django.db import migrations, models

BATCH = 500


def _aad(account_id, dedup_key):
    return f"inbound-webhook-body:{account_id}:{dedup_key}".encode()


def _ring():
    from kessai.shops.keyring import ring_from_settings

    return ring_from_settings()


def _batches(queryset):
    """Rows by primary key, BATCH at a time, each batch read by a fresh query after the previous one was written."""
    last = None
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        batch = list(page.order_by("pk")[:BATCH])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def seal_plaintext_bodies(apps, schema_editor):
    InboundWebhook = apps.get_model("webhooks", "InboundWebhook")
    db = schema_editor.connection.alias
    rows = InboundWebhook.objects.using(db).filter(body_sealed="").only("id", "account_id", "dedup_key", "body")
    ring = None
    for batch in _batches(rows):
        ring = ring or _ring()
        for row in batch:
            row.body_sealed = ring.encrypt(row.body.encode("utf-8"), aad=_aad(row.account_id, row.dedup_key))
        InboundWebhook.objects.using(db).bulk_update(batch, ["body_sealed"])


def decrypt_to_plaintext(apps, schema_editor):
    """The reverse: the bodies back into the plaintext column (the key ring must still hold their keys)."""
    InboundWebhook = apps.get_model("webhooks", "InboundWebhook")
    db = schema_editor.connection.alias
    rows = InboundWebhook.objects.using(db).exclude(body_sealed="").only("id", "account_id", "dedup_key", "body_sealed")
    ring = None
    for batch in _batches(rows):
        ring = ring or _ring()
        for row in batch:
            row.body = ring.decrypt(row.body_sealed, aad=_aad(row.account_id, row.dedup_key)).decode("utf-8")
        InboundWebhook.objects.using(db).bulk_update(batch, ["body"])


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0003_outbound_delivery"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundwebhook",
            name="body_sealed",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(seal_plaintext_bodies, decrypt_to_plaintext, elidable=False),
    ]
