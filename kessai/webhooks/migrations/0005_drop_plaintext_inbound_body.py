"""Drop the plaintext inbound webhook body that 0004 sealed. Reversible: the reverse re-creates the column empty
(``blank=True`` first, so that SQLite's table rebuild fills the existing rows with "") and 0004's reverse fills it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0004_seal_inbound_bodies"),
    ]

    operations = [
        migrations.AlterField(
            model_name="inboundwebhook",
            name="body",
            field=models.TextField(blank=True),
        ),
        migrations.RemoveField(
            model_name="inboundwebhook",
            name="body",
        ),
    ]
