"""kessai rotate-keys — re-encrypt every provider credential and stored buyer token under the first key of
KESSAI_SECRET_KEYS."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kessai.shops.keyring import ring_from_settings
from kessai.shops.services import rotate_credentials_encryption


class Command(BaseCommand):
    help = "Re-encrypt all provider credentials with the primary key (the first in KESSAI_SECRET_KEYS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        from kessai.billing.services import rotate_token_encryption

        primary = ring_from_settings().primary_id
        rotated, total = rotate_credentials_encryption()
        tokens_rotated, tokens_total = rotate_token_encryption()
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "primary_key": primary,
                        "rotated": rotated,
                        "total": total,
                        "subscription_tokens_rotated": tokens_rotated,
                        "subscription_tokens_total": tokens_total,
                    }
                )
            )
        else:
            self.stdout.write(
                f"re-encrypted {rotated} of {total} provider accounts and {tokens_rotated} of {tokens_total} "
                f"subscription tokens under key {primary!r}"
            )
