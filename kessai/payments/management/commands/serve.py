"""kessai serve — the web process (gunicorn). Stateless: run as many as you like behind a load balancer.

Without ``--config`` the defaults suit the demo and tests (gthread, 2 workers × 8 threads, 60 s timeout, on
127.0.0.1:8000). With ``--config FILE`` (e.g. deploy/gunicorn.conf.py) the file decides, and only the options
given on this command line override it. Either way the access log never shows query strings: inbound webhook
URLs carry their secret token there.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

# The path without the query string (webhook URLs carry their secret token there). Also in deploy/gunicorn.conf.py.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
DEFAULTS = {"host": "127.0.0.1", "port": 8000, "workers": 2, "threads": 8}


class Command(BaseCommand):
    help = "Serve Kessai with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--config", help="a gunicorn config file (deploy/gunicorn.conf.py); it sets the defaults")
        parser.add_argument("--host", default=None, help=f"default $HOST or {DEFAULTS['host']}")
        parser.add_argument("--port", type=int, default=None, help=f"default $PORT or {DEFAULTS['port']}")
        parser.add_argument(
            "--workers", type=int, default=None, help=f"default $WEB_CONCURRENCY or {DEFAULTS['workers']}"
        )
        parser.add_argument(
            "--threads", type=int, default=None, help=f"default $KESSAI_WEB_THREADS or {DEFAULTS['threads']}"
        )
        parser.add_argument("--check-config", action="store_true", help="check the configuration and exit (gunicorn)")

    def handle(self, *args: Any, **opts: Any) -> None:
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
        os.execv(gunicorn, gunicorn_argv(gunicorn, opts))  # noqa: S606 - replaces this process with gunicorn


def gunicorn_argv(gunicorn: str, opts: dict[str, Any]) -> list[str]:
    """The gunicorn command line of ``kessai serve`` (prepares the metrics directory as a side effect)."""
    config = opts.get("config")
    if config and not os.path.isfile(config):
        raise CommandError(f"gunicorn config file not found: {config}")
    environment = {
        "host": os.environ.get("HOST"),
        "port": os.environ.get("PORT"),
        "workers": os.environ.get("WEB_CONCURRENCY"),
        "threads": os.environ.get("KESSAI_WEB_THREADS"),
    }
    # With a config file only what was given on the command line overrides it; without one, the environment
    # and then the built-in defaults fill in.
    chosen = {
        key: opts.get(key) if config else (opts.get(key) or environment[key] or DEFAULTS[key]) for key in DEFAULTS
    }
    argv = [gunicorn, "kessai.config.wsgi:application"]
    if config:
        argv += ["--config", config]
    else:
        # No control socket: it would be shared by every instance on the host ($HOME/.gunicorn/gunicorn.ctl).
        argv += ["--worker-class", "gthread", "--timeout", "60", "--access-logfile", "-", "--no-control-socket"]
    if chosen["host"] is not None or chosen["port"] is not None:
        argv += ["--bind", f"{chosen['host'] or DEFAULTS['host']}:{chosen['port'] or DEFAULTS['port']}"]
    if chosen["workers"] is not None:
        argv += ["--workers", str(chosen["workers"])]
    if chosen["threads"] is not None:
        argv += ["--threads", str(chosen["threads"])]
    argv += ["--access-logformat", ACCESS_LOG_FORMAT]
    if opts.get("check_config"):
        return [*argv, "--check-config"]
    # Every gunicorn worker writes its counters here; /metrics sums them (kessai.common.metrics). Per host.
    metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.VAR_DIR / "prometheus"))
    os.makedirs(metrics_dir, exist_ok=True)
    for stale in os.listdir(metrics_dir):
        os.remove(os.path.join(metrics_dir, stale))
    return argv
