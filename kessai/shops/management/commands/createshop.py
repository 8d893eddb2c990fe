"""kessai createshop --name NAME [--json] — a new shop with a test API key (printed once)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kessai.shops.errors import ValidationFailed
from kessai.shops.services import create_api_key, create_shop


class Command(BaseCommand):
    help = "Create a shop and print its id and a test API key (shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--company", default="")
        parser.add_argument("--environment", choices=["test", "production"], default="test")
        parser.add_argument("--json", action="store_true", help="print {shop_id, api_key} as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            shop = create_shop(name=opts["name"], company=opts["company"])
        except ValidationFailed as exc:
            raise CommandError("; ".join(exc.errors.values())) from exc
        _, raw = create_api_key(shop, environment=opts["environment"], name="createshop")
        if opts["json"]:
            self.stdout.write(json.dumps({"shop_id": shop.id, "api_key": raw}))
        else:
            self.stdout.write(f"shop_id={shop.id}\napi_key={raw}\n(the API key is shown only once)")
