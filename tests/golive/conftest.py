from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import WSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread

from kessai.sandbox.atone import AtoneSandboxConfig, create_app
from kessai.sandbox.server import start_in_thread
from tests.golive import helpers
from tests.integration.atone import hub


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def atone_emulator() -> Iterator[hub.Emulator]:
    app = create_app(AtoneSandboxConfig(webhook_retry_delays=(0.05, 0.2, 0.5)))
    server = start_in_thread(app)
    try:
        yield hub.Emulator(app=app, server=server)
    finally:
        server.stop()
        app.close()


@pytest.fixture
def pages() -> Iterator[helpers.PageServer]:
    yield from helpers.serve_pages()


@pytest.fixture
def world(atone_emulator: hub.Emulator) -> helpers.World:
    return helpers.fresh_shop(atone_emulator)


class _SerialWSGIServer(WSGIServer):
    """One request at a time; Django answers ``Connection: close`` when the server is not threaded."""

    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class _SerialLiveServerThread(LiveServerThread):
    server_class = _SerialWSGIServer


@pytest.fixture
def hub_server(transactional_db: None, settings: Any) -> Iterator[str]:
    """The hub on a live HTTP server that handles one request at a time, and ``KESSAI_PUBLIC_URL`` set to it
    (the webhook URLs the emulator is given point here).

    Why not pytest-django's ``live_server``: on SQLite the test database is in memory and every server thread
    shares the test's one connection, so a webhook the emulator posts while a hub request is still writing
    fails with "database table is locked". Served one at a time, the emulator's webhook simply waits for the
    request that triggered it — what a busy hub looks like to a provider. PostgreSQL needs none of this, and
    the same tests run there unchanged."""
    shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
    thread = _SerialLiveServerThread("127.0.0.1", StaticFilesHandler, connections_override=shared)
    thread.daemon = True
    for connection in shared.values():
        connection.inc_thread_sharing()
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        url = f"http://127.0.0.1:{thread.port}"
        settings.KESSAI_PUBLIC_URL = url
        yield url
    finally:
        thread.terminate()
        for connection in shared.values():
            connection.dec_thread_sharing()
