"""kessai demo — migrate, seed a demo shop wired to the local sandboxes, start web + worker + sandboxes.

Prints the demo orders' hosted-checkout links (``pay: <url>  (<what the emulator answers>, <order no>)``)
and one line ``login: <url> user=<user> password=<password>``; Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from kessai.demo_seed import DemoSeed, seed_demo_shop


class Command(BaseCommand):
    help = "Run the Kessai demo: SQLite, sandbox providers, a seeded demo shop."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--atone-port", type=int, default=int(os.environ.get("KESSAI_ATONE_PORT", "8101")))
        parser.add_argument("--seed-only", action="store_true", help="migrate and seed, print the login, exit")

    def handle(self, *args: Any, **opts: Any) -> None:
        port, atone_port = opts["port"], opts["atone_port"]
        call_command("migrate", interactive=False, verbosity=0)
        password = os.environ.get("KESSAI_DEMO_PASSWORD") or secrets.token_urlsafe(9)
        seed = seed_demo_shop(password=password, atone_base_url=f"http://127.0.0.1:{atone_port}/v1/")
        login = f"login: http://127.0.0.1:{port}/login/ user={seed.username} password={password}"
        if opts["seed_only"]:
            for line in seed.checkout_links(public_url=f"http://127.0.0.1:{port}"):
                self.stdout.write(line)
            self.stdout.write(login)
            return
        self._run(port, atone_port, seed, login)

    def _run(self, port: int, atone_port: int, seed: DemoSeed, login: str) -> None:
        env = {**os.environ, "KESSAI_PUBLIC_URL": f"http://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"}
        # The demo prints mails (継続課金 result mails …) to the console instead of sending them.
        env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
        exe = [sys.executable, "-m", "kessai.cli"]
        children = [
            subprocess.Popen([*exe, "sandbox", "atone", "--port", str(atone_port)], env=env),  # noqa: S603
            subprocess.Popen([*exe, "worker"], env=env),  # noqa: S603
            subprocess.Popen([*exe, "serve", "--port", str(port), "--workers", "2"], env=env),  # noqa: S603
        ]
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            if self._wait_ready(f"http://127.0.0.1:{port}/healthz", children) and self._wait_ready(
                f"http://127.0.0.1:{atone_port}/v1/atone.js", children
            ):
                seed.after_start(public_url=f"http://127.0.0.1:{port}")
                self.stdout.write(f"api_key: {seed.api_key}  (test key of the demo shop)")
                self.stdout.write(f"sandbox: atone at http://127.0.0.1:{atone_port}/v1/")
                for line in seed.checkout_links(public_url=f"http://127.0.0.1:{port}"):
                    self.stdout.write(line)
                self.stdout.write(login)
                self.stdout.flush()
            while not stopping and all(c.poll() is None for c in children):
                time.sleep(0.5)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

    @staticmethod
    def _wait_ready(url: str, children: list[subprocess.Popen[bytes]], timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(c.poll() is not None for c in children):
                return False
            try:
                if httpx.get(url, timeout=2.0).status_code < 500:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        return False
