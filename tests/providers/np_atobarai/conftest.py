from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.providers.np_atobarai.emulator import Emulator, running_emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    yield from running_emulator()
