"""kessai billing run-due [--at ISO-DATETIME] [--json] [--concurrency N] [--batch-size N]

``--concurrency N`` (PostgreSQL): N threads, each claiming its own batches with ``SKIP LOCKED``; provider calls wait
on the network, so threads overlap them (8–16 measured best on two cores, docs/benchmarks.md).

Runs one pass over due cycles (recovering abandoned ones first), sends the result mails, and prints
``{"charged": N, "failed": N, "skipped": N}`` with ``--json``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kessai.billing import services
from kessai.common.jst import JST


def parse_at(value: str) -> datetime:
    """ISO 8601; a value without an offset is read as JST (the shop's clock)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--at: not an ISO datetime: {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=JST)


class Command(BaseCommand):
    help = "継続課金: run due cycles (run-due)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run-due", help="charge every due cycle once, then send the result mails")
        run.add_argument("--at", help="run as of this moment (ISO 8601; no offset = JST)")
        run.add_argument("--json", action="store_true", help='print {"charged", "failed", "skipped"}')
        run.add_argument("--concurrency", type=int, default=1, help="threads claiming and charging (PostgreSQL)")
        run.add_argument("--batch-size", type=int, default=20, help="subscriptions claimed per transaction")
        run.add_argument("--no-mail", action="store_true", help="do not send the result mails in this pass")

    def handle(self, *args: Any, **opts: Any) -> None:
        at = parse_at(opts["at"]) if opts.get("at") else None
        if opts["concurrency"] < 1 or opts["batch_size"] < 1:
            raise CommandError("--concurrency and --batch-size must be at least 1")
        result = services.run_due(
            at,
            concurrency=opts["concurrency"],
            batch_size=opts["batch_size"],
            send_mails=not opts["no_mail"],
        )
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            self.stdout.write(
                f"課金済み {result.charged}件 / 決済エラー {result.failed}件 / スキップ {result.skipped}件"
            )
