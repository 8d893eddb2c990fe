"""Fixtures: a Paidy emulator on a free localhost port, and httpx clients for its API and control."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from kessai.sandbox.paidy import DEFAULT_SECRET_KEY, PaidySandbox, PaidySandboxConfig, create_app
from kessai.sandbox.server import RunningServer, start_in_thread

FAST_RETRIES = (0.02, 0.05)
# httpx builds an SSL context per client unless given one; the emulator is plain HTTP, so share one.
SHARED_SSL_CONTEXT = ssl.create_default_context()
API_HEADERS = {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}", "Paidy-Version": "2018-04-10"}


def client(base_url: str, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=headers, timeout=5.0, verify=SHARED_SSL_CONTEXT)


@pytest.fixture
def sandbox() -> Iterator[PaidySandbox]:
    app = create_app(PaidySandboxConfig(webhook_retry_delays=FAST_RETRIES, webhook_timeout_seconds=2.0))
    yield app
    app.close()


@pytest.fixture
def server(sandbox: PaidySandbox) -> Iterator[RunningServer]:
    with start_in_thread(sandbox) as running:
        yield running


@pytest.fixture
def server_url(server: RunningServer) -> str:
    return server.url


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    """Authenticated as the default merchant, with Paidy-Version; paths are relative to the API root."""
    with client(server.url, headers=API_HEADERS) as api_client:
        yield api_client


@pytest.fixture
def control(server: RunningServer) -> Iterator[httpx.Client]:
    with client(server.url + "/_sandbox") as control_client:
        yield control_client


@pytest.fixture
def token(control: httpx.Client) -> str:
    response = control.post("/tokens", json={"email": "successful.payment@paidy.com", "phone": "08000000001"})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])
