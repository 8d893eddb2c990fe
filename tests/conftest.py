"""Shared fixtures kept small: the fake provider's ledger and a shop with a fake account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.provider import FakeLedger, install


@pytest.fixture
def fake_ledger() -> Iterator[FakeLedger]:
    ledger = install()
    yield ledger
    ledger.reset()
