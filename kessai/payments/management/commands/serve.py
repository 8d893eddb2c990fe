"""kessai serve — the web process (gunicorn). Stateless: run as many as you like behind a load balancer."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Kessai with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("KESSAI_WEB_THREADS", "8")))

    def handle(self, *args: Any, **opts: Any) -> None:
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
        argv = [
            gunicorn,
            "kessai.config.wsgi:application",
            "--bind",
            f"{opts['host']}:{opts['port']}",
            "--workers",
            str(opts["workers"]),
            "--threads",
            str(opts["threads"]),
            "--worker-class",
            "gthread",
            "--timeout",
            "60",
            "--access-logfile",
            "-",
            # The path without the query string: inbound webhook URLs carry their secret token there.
            "--access-logformat",
            '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss',
        ]
        # Every gunicorn worker writes its counters here; /metrics sums them (kessai.common.metrics).
        metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.VAR_DIR / "prometheus"))
        os.makedirs(metrics_dir, exist_ok=True)
        for stale in os.listdir(metrics_dir):
            os.remove(os.path.join(metrics_dir, stale))
        os.execv(gunicorn, argv)  # noqa: S606 - replaces this process with gunicorn
