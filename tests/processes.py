"""Real Kessai processes for the multi-process tests and the benchmarks: web (gunicorn through ``kessai serve``),
workers (``kessai worker``), provider emulators (``kessai sandbox NAME``) and the PostgreSQL cluster of
``scripts/pg-cluster`` — each one a child process with its own log file, that can be SIGKILLed and restarted.

    stack = Stack(tmp_path, database_url=os.environ["DATABASE_URL"])
    atone = stack.emulator("atone")
    web = stack.web()
    stack.worker()
    shop = stack.create_shop("テストショップ")          # {"shop_id": …, "api_key": …}
    ...
    web.kill()          # SIGKILL
    web.start()         # same port, same log file (appended)
    stack.stop_all()

Used by tests/scaleout, tests/reliability and bench/ (run from the repository root, ``tests`` is importable).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
KESSAI = [sys.executable, "-m", "kessai.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``url`` answers below 500; fails early when ``proc`` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode} before it came up")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of a live process (``/proc/<pid>/status``); 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def is_postgres(database_url: str | None = None) -> bool:
    url = database_url if database_url is not None else os.environ.get("DATABASE_URL", "")
    return url.startswith(("postgres://", "postgresql://"))


def wait_ready(*services: Service, timeout: float = 60.0) -> None:
    """Until every service (started with ``wait=False``) answers on its readiness URL."""
    deadline = time.monotonic() + timeout
    for service in services:
        if service.ready_url:
            wait_for(service.ready_url, timeout=max(1.0, deadline - time.monotonic()), proc=service.proc)


def create_database(database_url: str, name: str) -> str:
    """A new, empty database ``name`` on the PostgreSQL server of ``database_url``; returns its URL. Lets a
    multi-process test own its data even when other tests of the same run use the server's default database."""
    import psycopg

    parts = urlsplit(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def drop_database(database_url: str) -> None:
    """Drop the database of ``database_url`` (connections still open to it are closed by the server)."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Service:
    """One child process. ``start`` after ``kill``/``stop`` runs it again with the same arguments."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path, ready_url: str | None) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log = log
        self.ready_url = ready_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait: bool = True, timeout: float = 60.0) -> Service:
        if self.alive:
            return self
        out: IO[bytes] = self.log.open("ab")
        try:
            # A session of its own: a SIGKILL of the group also takes gunicorn's worker processes.
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            out.close()
        self.starts += 1
        if wait and self.ready_url:
            wait_for(self.ready_url, timeout=timeout, proc=self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash or the OOM killer would."""
        self._signal_group(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL when it does not exit in time."""
        if not self.alive:
            return
        self._signal_group(signal.SIGTERM)
        assert self.proc is not None
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal_group(self, sig: int) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Stack:
    """Kessai processes sharing one database (``database_url``), each logging into ``directory``."""

    def __init__(self, directory: Path, database_url: str, extra_env: dict[str, str] | None = None) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.services: list[Service] = []
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KESSAI_VAR_DIR": str(directory / "var"),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "KESSAI_SECRET_KEYS": "stack1:" + secrets.token_urlsafe(32) + "=",
            "KESSAI_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            **(extra_env or {}),
        }

    # -- one-shot commands ------------------------------------------------------------------------

    def kessai(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*KESSAI, *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"kessai {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
        return done

    def migrate(self) -> None:
        self.kessai("migrate", "--noinput")

    def create_shop(self, name: str) -> dict[str, Any]:
        """A shop and its test API key: ``{"shop_id": …, "api_key": …}``."""
        done = self.kessai("createshop", "--name", name, "--json")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    # -- long-running processes -------------------------------------------------------------------

    def _service(self, name: str, argv: Sequence[str], ready_url: str | None, env: dict[str, str] | None) -> Service:
        log = self.directory / f"{name}.log"
        service = Service(name, argv, {**self.env, **(env or {})}, log, ready_url)
        self.services.append(service)
        return service

    def emulator(self, provider: str, port: int | None = None, *args: str, start: bool = True) -> Service:
        """``kessai sandbox PROVIDER``; its base URL is ``service.url``."""
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        service = self._service(
            f"sandbox-{provider}-{port}",
            [*KESSAI, "sandbox", provider, "--port", str(port), *args],
            url + "/_sandbox",
            None,
        )
        service.url = url  # type: ignore[attr-defined]
        return service.start() if start else service

    def web(
        self,
        port: int | None = None,
        workers: int = 2,
        threads: int = 8,
        env: dict[str, str] | None = None,
        start: bool = True,
    ) -> Service:
        """``kessai serve`` (gunicorn, gthread); its base URL is ``service.url``. ``start=False``: call
        ``service.start(wait=False)`` yourself, e.g. to boot several at once, then :func:`wait_ready`."""
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        web_env = {
            "KESSAI_PUBLIC_URL": url,
            # Each web instance keeps its own Prometheus directory: ``kessai serve`` empties it at start.
            "PROMETHEUS_MULTIPROC_DIR": str(self.directory / f"prometheus-{port}"),
            **(env or {}),
        }
        service = self._service(
            f"web-{port}",
            [*KESSAI, "serve", "--port", str(port), "--workers", str(workers), "--threads", str(threads)],
            url + "/healthz",
            web_env,
        )
        service.url = url  # type: ignore[attr-defined]
        return service.start() if start else service

    def worker(
        self, *args: str, env: dict[str, str] | None = None, metrics_port: int | None = None, start: bool = True
    ) -> Service:
        """``kessai worker`` (tasks + scheduler). With ``metrics_port`` (0 = a free one) it serves its own
        Prometheus metrics at ``service.metrics_url``, which is also its readiness URL."""
        n = sum(1 for s in self.services if s.name.startswith("worker-")) + 1
        metrics_url = None
        if metrics_port is not None:
            metrics_port = metrics_port or free_port()
            args = (*args, "--metrics-port", str(metrics_port))
            metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        service = self._service(f"worker-{n}", [*KESSAI, "worker", *args], metrics_url, env)
        service.metrics_url = metrics_url  # type: ignore[attr-defined]
        return service.start() if start else service

    def stop_all(self, timeout: float = 20.0) -> None:
        """SIGTERM to every running service at once (newest first), then wait for all; SIGKILL what is still
        running after ``timeout``. (One by one, a stack of eight processes took ~9 s to stop.)"""
        running = [service for service in reversed(self.services) if service.alive]
        for service in running:
            service._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for service in running:
            assert service.proc is not None
            try:
                service.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.kill()


class PostgresCluster:
    """The cluster ``scripts/pg-cluster`` started for this run, which it describes in the environment
    (``KESSAI_PG_DATA``, ``KESSAI_PG_BIN``, ``KESSAI_PG_RUN_AS``). ``restart`` is a real server restart:
    every open connection is cut, as in a failover or a crash of the database host."""

    def __init__(self) -> None:
        data, pgbin = os.environ.get("KESSAI_PG_DATA"), os.environ.get("KESSAI_PG_BIN")
        if not data or not pgbin:
            raise RuntimeError("not started by scripts/pg-cluster (KESSAI_PG_DATA / KESSAI_PG_BIN unset)")
        self.data = data
        self.pg_ctl = str(Path(pgbin) / "pg_ctl")
        # pg_ctl must write the server's output to a file: a pipe would be held open by the server.
        self.log = os.environ.get("KESSAI_PG_LOG") or str(Path(data).parent / "server.log")
        run_as = os.environ.get("KESSAI_PG_RUN_AS", "")
        self.prefix = ["runuser", "-u", run_as, "--"] if run_as else []

    @classmethod
    def available(cls) -> bool:
        return bool(os.environ.get("KESSAI_PG_DATA") and os.environ.get("KESSAI_PG_BIN"))

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.prefix, self.pg_ctl, "-D", self.data, *args], check=True, capture_output=True)

    def restart(self, mode: str = "immediate") -> None:
        """``pg_ctl restart -m immediate``: like a crash of the server, then recovery."""
        self._ctl("-m", mode, "-w", "-l", self.log, "restart")

    def stop(self, mode: str = "immediate") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def start(self) -> None:
        self._ctl("-w", "-l", self.log, "start")
