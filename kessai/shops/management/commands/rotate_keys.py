"""kessai rotate-keys — re-encrypt every provider credential, stored buyer token and inbound webhook body under the
first key of KESSAI_SECRET_KEYS."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kessai.shops.keyring import ring_from_settings
from kessai.shops.services import rotate_credentials_encryption


class Command(BaseCommand):
    help = (
        "Re-encrypt all provider credentials, stored buyer tokens and inbound webhook bodies with the primary key "
        "(the first in KESSAI_SECRET_KEYS)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        from kessai.billing.services import rotate_token_encryption
        from kessai.payments.services import rotate_buyer_token_encryption
        from kessai.webhooks import sealing

        primary = ring_from_settings().primary_id
        rotated, total = rotate_credentials_encryption()
        tokens_rotated, tokens_total = rotate_token_encryption()
        buyer_tokens = rotate_buyer_token_encryption()
        payment_rotated, payment_total = buyer_tokens["payments"]
        saved_rotated, saved_total = buyer_tokens["buyer_tokens"]
        bodies_rotated, bodies_total = sealing.rotate()
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "primary_key": primary,
                        "rotated": rotated,
                        "total": total,
                        "subscription_tokens_rotated": tokens_rotated,
                        "subscription_tokens_total": tokens_total,
                        "payment_tokens_rotated": payment_rotated,
                        "payment_tokens_total": payment_total,
                        "buyer_tokens_rotated": saved_rotated,
                        "buyer_tokens_total": saved_total,
                        "inbound_webhooks_rotated": bodies_rotated,
                        "inbound_webhooks_total": bodies_total,
                    }
                )
            )
        else:
            self.stdout.write(
                f"re-encrypted {rotated} of {total} provider accounts and {tokens_rotated} of {tokens_total} "
                f"subscription tokens under key {primary!r}, plus {payment_rotated} of {payment_total} payments' "
                f"buyer tokens, {saved_rotated} of {saved_total} saved buyer tokens and {bodies_rotated} of "
                f"{bodies_total} inbound webhook bodies"
            )
