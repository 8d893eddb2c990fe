"""kessai billing run-due [--at ISO-DATETIME] [--json] [--concurrency N] [--batch-size N]

``--concurrency N`` (PostgreSQL): N threads, each claiming its own batches with ``SKIP LOCKED``; provider calls wait
on the network, so threads overlap them (8–16 measured best on two cores, docs/benchmarks.md).

Runs one pass over due cycles (recovering abandoned ones first), sends the result mails, and prints
``{"charged": N, "failed": N, "skipped": N}`` with ``--json``.

SIGTERM (or Ctrl-C) stops the pass at its next safe point: the charges in flight finish, the cycles claimed but not
sent are handed back to the next pass (charged at once then, not after the claim lease), the counts so far are
printed, and the command exits with status 143.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import datetime
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kessai.billing import services
from kessai.common import scheduler
from kessai.common.jst import JST

STOPPED_EXIT_STATUS = 143  # 128 + SIGTERM


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

        def stop(signum: int, frame: FrameType | None) -> None:
            scheduler.request_stop()

        main = threading.current_thread() is threading.main_thread()  # signal handlers only in the main thread
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)} if main else {}
        try:
            result = services.run_due(
                at,
                concurrency=opts["concurrency"],
                batch_size=opts["batch_size"],
                send_mails=not opts["no_mail"],
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            self.stdout.write(
                f"課金済み {result.charged}件 / 決済エラー {result.failed}件 / スキップ {result.skipped}件"
            )
        if scheduler.stop_requested():
            self.stderr.write("停止要求により課金処理を途中で終了しました。未処理の課金は次回の実行で課金されます。")
            sys.exit(STOPPED_EXIT_STATUS)
