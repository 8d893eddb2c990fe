"""kessai golive check --account ID [--json] [--cached]

Runs the account's 接続テスト and the page checks (skipped with ``--cached``: only the evidence already
recorded is read), then prints the checklist: with ``--json`` one object
``{"account", "shop", "provider", "environment", "test_account", "production_account", "ready", "live",
"complete", "items": [{"key", "title", "status", "detail", "how_to_fix", "stage"}]}``.
Exit status 0; ``--strict`` exits 1 while the account is not ready to switch to production.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kessai.golive import services
from kessai.golive.checks import readiness
from kessai.shops.models import ProviderAccount

MARKS = {"ok": "[OK]", "ng": "[NG]", "pending": "[--]", "na": "[対象外]"}


class Command(BaseCommand):
    help = "本番開始チェック: print a provider account's go-live checklist."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="run the 接続テスト and page checks, then print the checklist")
        check.add_argument("--account", required=True, help="provider account id (acct_…)")
        check.add_argument("--json", action="store_true", help="print the checklist as JSON")
        check.add_argument("--cached", action="store_true", help="do not call the provider or fetch pages")
        check.add_argument("--strict", action="store_true", help="exit 1 unless the account is ready")

    def handle(self, *args: Any, **opts: Any) -> None:
        account = ProviderAccount.objects.select_related("shop").filter(pk=opts["account"]).first()
        if account is None:
            raise CommandError(f"no provider account {opts['account']!r}")
        cached = opts["cached"]
        report = readiness(account) if cached else services.run_checks(services.cli_actor(), account)
        if opts["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            self.stdout.write(f"{account.shop.name} / {account.provider} ({account.environment}) ready={report.ready}")
            for item in report.items:
                self.stdout.write(f"{MARKS[item.status]} {item.title}: {item.detail}")
                if item.status not in ("ok", "na") and item.how_to_fix:
                    self.stdout.write(f"      → {item.how_to_fix}")
        if opts["strict"] and not report.ready:
            raise SystemExit(1)
