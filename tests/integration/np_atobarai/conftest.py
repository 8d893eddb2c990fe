from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.np_atobarai import hub


@pytest.fixture
def np_emulator() -> Iterator[hub.Emulator]:
    yield from hub.running_emulator()


@pytest.fixture
def np(np_emulator: hub.Emulator) -> hub.NpShop:
    return hub.np_shop(np_emulator)
