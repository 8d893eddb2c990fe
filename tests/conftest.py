"""Shared fixtures kept small: the fake provider's ledger and a shop with a fake account; and the session-wide
secret leak guard (tests/security/leak_guard.py), which scans every test's logs and database for secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.provider import FakeLedger, install

pytest_plugins = ["tests.security.leak_guard"]


@pytest.fixture
def fake_ledger() -> Iterator[FakeLedger]:
    ledger = install()
    yield ledger
    ledger.reset()
