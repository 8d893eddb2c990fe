from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.atone import hub


@pytest.fixture
def atone_emulator() -> Iterator[hub.Emulator]:
    yield from hub.running_emulator()
