"""kessai worker — background tasks (django-tasks DB backend) plus the scheduler loop."""

from __future__ import annotations

import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from kessai.common import scheduler


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs (janitor, billing, webhook delivery)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-scheduler", action="store_true", help="only run queued tasks")
        parser.add_argument("--interval", type=float, default=0.5)

    def handle(self, *args: Any, **opts: Any) -> None:
        stop = threading.Event()
        thread = None
        if not opts["no_scheduler"]:
            thread = threading.Thread(target=scheduler.run_loop, args=(stop,), name="kessai-scheduler", daemon=True)
            thread.start()
        try:
            call_command("db_worker", queue_name="*", interval=opts["interval"], reload=False, verbosity=1)
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=5)
