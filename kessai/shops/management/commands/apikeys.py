"""kessai apikeys — a shop's API keys from the command line, for rotation without downtime:

    kessai apikeys list --shop shop_…                    [--json]
    kessai apikeys create --shop shop_… --environment production --name "cart 2026-11"   (the key is printed once)
    kessai apikeys revoke key_…                          (refused from then on, on every web host at once)

Create the new key, switch the integration to it, watch ``last_used_at`` of the old one stop moving, revoke it.
Only a SHA-256 hash of each key is stored, so no other secret (``DJANGO_SECRET_KEY``, ``KESSAI_SECRET_KEYS``) is
involved in a key's rotation.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kessai.shops.errors import ValidationFailed
from kessai.shops.models import ApiKey, Environment, Shop
from kessai.shops.services import create_api_key, revoke_api_key


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def describe(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "shop_id": key.shop_id,
        "environment": key.environment,
        "name": key.name,
        "key": str(key),  # prefix…last4, never the key
        "created_at": _iso(key.created_at),
        "last_used_at": _iso(key.last_used_at),
        "revoked_at": _iso(key.revoked_at),
    }


class Command(BaseCommand):
    help = "List, create and revoke a shop's API keys (rotation)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="a shop's keys (masked), newest first")
        listing.add_argument("--shop", required=True)
        listing.add_argument("--json", action="store_true")
        create = sub.add_parser("create", help="a new key, printed once")
        create.add_argument("--shop", required=True)
        create.add_argument("--environment", choices=Environment.values, default=Environment.TEST)
        create.add_argument("--name", default="")
        create.add_argument("--json", action="store_true")
        revoke = sub.add_parser("revoke", help="refuse a key from now on")
        revoke.add_argument("key_id")
        revoke.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "revoke":
            key = ApiKey.objects.filter(pk=opts["key_id"]).first()
            if key is None:
                raise CommandError(f"no API key {opts['key_id']}")
            revoke_api_key(key)
            key.refresh_from_db()
            self._out(opts, describe(key), f"revoked {key.id} ({key}) at {_iso(key.revoked_at)}")
            return
        shop = Shop.objects.filter(pk=opts["shop"]).first()
        if shop is None:
            raise CommandError(f"no shop {opts['shop']}")
        if action == "list":
            keys = [describe(k) for k in ApiKey.objects.filter(shop=shop).order_by("-created_at", "-id")]
            text = "\n".join(
                f"{k['id']}  {k['key']}  {k['environment']}  {k['name'] or '-'}  last used {k['last_used_at'] or '-'}"
                f"{'  REVOKED ' + k['revoked_at'] if k['revoked_at'] else ''}"
                for k in keys
            )
            self._out(opts, {"keys": keys}, text or "(no keys)")
            return
        try:
            key, raw = create_api_key(shop, environment=opts["environment"], name=opts["name"])
        except ValidationFailed as exc:
            raise CommandError("; ".join(exc.errors.values())) from exc
        self._out(opts, {**describe(key), "api_key": raw}, f"{key.id}\napi_key={raw}\n(the API key is shown only once)")

    def _out(self, opts: dict[str, Any], data: dict[str, Any], text: str) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False) if opts["json"] else text)
