"""Buyers' provider tokens at rest: encrypted columns and lookup digests beside the plaintext ones, filled from
them (the plaintext columns are dropped by 0004, in its own transaction: PostgreSQL refuses to ALTER a table
with pending trigger events from rows updated in the same transaction).

The AAD formats and the digest are written out here, frozen, rather than imported from
``kessai.payments.tokens``: this migration must keep producing what the code of its time read.
Reversible: the reverse step decrypts back into the plaintext columns (which 0004's reverse re-creates).
"""

import hashlib

from django.db import migrations, models

BATCH = 500


def _digest(token):
    # Unkeyed SHA-256: tokens are high-entropy random strings, see kessai.payments.tokens.digest.
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


def _payment_aad(payment_id):
    return f"payment-buyer-token:{payment_id}".encode()


def _buyer_token_aad(account_id, customer_key):
    return f"buyer-token:{account_id}:{customer_key}".encode()


def _ring():
    from kessai.shops.keyring import ring_from_settings

    return ring_from_settings()


def _in_batches(queryset):
    batch = []
    for row in queryset.iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def encrypt_plaintext_tokens(apps, schema_editor):
    """Seal every plaintext token and fill its digest (rows already sealed are left alone: safe to re-run)."""
    Payment = apps.get_model("payments", "Payment")
    BuyerToken = apps.get_model("payments", "BuyerToken")
    db = schema_editor.connection.alias
    ring = None
    payments = (
        Payment.objects.using(db)
        .exclude(buyer_token="")
        .filter(buyer_token_encrypted="")
        .only("id", "buyer_token")
        .order_by("pk")
    )
    for batch in _in_batches(payments):
        ring = ring or _ring()
        for payment in batch:
            payment.buyer_token_encrypted = ring.encrypt(payment.buyer_token.encode(), aad=_payment_aad(payment.id))
            payment.buyer_token_digest = _digest(payment.buyer_token)
        Payment.objects.using(db).bulk_update(batch, ["buyer_token_encrypted", "buyer_token_digest"])
    rows = (
        BuyerToken.objects.using(db)
        .filter(token_encrypted="")
        .only("id", "account_id", "customer_key", "token")
        .order_by("pk")
    )
    for batch in _in_batches(rows):
        ring = ring or _ring()
        for row in batch:
            aad = _buyer_token_aad(row.account_id, row.customer_key)
            row.token_encrypted = ring.encrypt(row.token.encode(), aad=aad)
            row.token_digest = _digest(row.token)
        BuyerToken.objects.using(db).bulk_update(batch, ["token_encrypted", "token_digest"])


def decrypt_to_plaintext(apps, schema_editor):
    """The reverse: the tokens back into the plaintext columns (the key ring must still hold their keys)."""
    Payment = apps.get_model("payments", "Payment")
    BuyerToken = apps.get_model("payments", "BuyerToken")
    db = schema_editor.connection.alias
    ring = None
    payments = Payment.objects.using(db).exclude(buyer_token_encrypted="").only("id", "buyer_token_encrypted")
    for batch in _in_batches(payments.order_by("pk")):
        ring = ring or _ring()
        for payment in batch:
            payment.buyer_token = ring.decrypt(payment.buyer_token_encrypted, aad=_payment_aad(payment.id)).decode()
        Payment.objects.using(db).bulk_update(batch, ["buyer_token"])
    rows = BuyerToken.objects.using(db).exclude(token_encrypted="").only("id", "account_id", "customer_key", "token_encrypted")
    for batch in _in_batches(rows.order_by("pk")):
        ring = ring or _ring()
        for row in batch:
            aad = _buyer_token_aad(row.account_id, row.customer_key)
            row.token = ring.decrypt(row.token_encrypted, aad=aad).decode()
        BuyerToken.objects.using(db).bulk_update(batch, ["token"])


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0002_bulkjob"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="buyer_token_encrypted",
            field=models.TextField(blank=True, default="", editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="payment",
            name="buyer_token_digest",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="buyertoken",
            name="token_encrypted",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="buyertoken",
            name="token_digest",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_plaintext_tokens, decrypt_to_plaintext, elidable=False),
    ]
