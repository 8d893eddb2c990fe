from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.np_atobarai.helpers import Np, running


@pytest.fixture
def np() -> Iterator[Np]:
    yield from running()
