"""Fixtures: an emulator served on a free localhost port, and httpx clients for its API and control."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from kessai.sandbox.atone import DEFAULT_SECRET_KEY, AtoneSandbox, AtoneSandboxConfig, create_app
from kessai.sandbox.server import RunningServer, start_in_thread

from .helpers import PHONE, basic

FAST_RETRIES = (0.02, 0.05)
# httpx builds an SSL context per client unless given one; the emulator is plain HTTP, so share one.
SHARED_SSL_CONTEXT = ssl.create_default_context()


def client(base_url: str, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=headers, timeout=5.0, verify=SHARED_SSL_CONTEXT)


@pytest.fixture
def sandbox_config() -> AtoneSandboxConfig:
    return AtoneSandboxConfig(webhook_retry_delays=FAST_RETRIES, webhook_timeout_seconds=2.0)


@pytest.fixture
def sandbox(sandbox_config: AtoneSandboxConfig) -> Iterator[AtoneSandbox]:
    app = create_app(sandbox_config)
    yield app
    app.close()


@pytest.fixture
def server(sandbox: AtoneSandbox) -> Iterator[RunningServer]:
    with start_in_thread(sandbox) as running:
        yield running


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    """Authenticated as the default merchant; paths are relative to ``/v1``."""
    headers = {"Authorization": basic(DEFAULT_SECRET_KEY)}
    with client(server.url + "/v1", headers=headers) as api_client:
        yield api_client


@pytest.fixture
def control(server: RunningServer) -> Iterator[httpx.Client]:
    with client(server.url + "/_sandbox") as control_client:
        yield control_client


@pytest.fixture
def token(control: httpx.Client) -> str:
    response = control.post("/authenticate", json={"phone_number": PHONE})
    assert response.status_code == 200
    return str(response.json()["authentication_token"])
