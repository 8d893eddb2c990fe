"""Fixtures: a GMO後払い emulator on a free localhost port, and httpx clients for its API and control."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from kessai.sandbox.gmo_atobarai import GmoSandbox, create_app
from kessai.sandbox.server import RunningServer, start_in_thread

# httpx builds an SSL context per client unless given one; the emulator is plain HTTP, so share one.
SHARED_SSL_CONTEXT = ssl.create_default_context()


def client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=5.0, verify=SHARED_SSL_CONTEXT)


@pytest.fixture
def sandbox() -> Iterator[GmoSandbox]:
    app = create_app()
    yield app
    app.close()


@pytest.fixture
def server(sandbox: GmoSandbox) -> Iterator[RunningServer]:
    with start_in_thread(sandbox) as running:
        yield running


@pytest.fixture
def server_url(server: RunningServer) -> str:
    return server.url


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    """Paths are relative to ``/auto/``."""
    with client(server.url + "/auto") as api_client:
        yield api_client


@pytest.fixture
def control(server: RunningServer) -> Iterator[httpx.Client]:
    with client(server.url + "/_sandbox") as control_client:
        yield control_client
