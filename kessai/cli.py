"""The ``kessai`` command: Django's manage.py with Kessai's own commands on top.

kessai demo | serve | worker | createshop --name N --json | rotate-keys | billing run-due | reconcile
kessai sandbox atone --port N          (no Django needed: the emulators stand alone)
kessai migrate, kessai shell, …        (any Django management command)
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "sandbox":
        from kessai.sandbox.cli import main as sandbox_main

        return int(sandbox_main(args[1:]))
    if args:
        args[0] = args[0].replace("-", "_") if args[0] in {"rotate-keys"} else args[0]
    if args and args[0] == "worker":
        # A worker serves its own metrics (--metrics-port); in a web host's multiprocess directory its counters
        # would be summed into the web's /metrics and wiped by the next `kessai serve`.
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kessai.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kessai", *args])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
