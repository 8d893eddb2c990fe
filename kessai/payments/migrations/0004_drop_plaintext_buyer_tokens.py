"""Drop the plaintext buyer-token columns that 0003 encrypted, and index the payment lookup by digest
(``services.record_authentication``). Reversible: the reverse re-creates the columns empty and 0003's reverse
fills them."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0003_encrypt_buyer_tokens"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="payment",
            name="buyer_token",
        ),
        migrations.RemoveField(
            model_name="buyertoken",
            name="token",
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["account", "buyer_token_digest"], name="payment_buyer_token_digest"),
        ),
    ]
