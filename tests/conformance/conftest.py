"""Fixtures of the conformance suite: every scenario runs once per provider (``harness`` is parametrised).

The four emulators are started once per session, on first use, and reset before each test (no data, no
faults); the hub's shop, account and payment method are created per test (``front``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.harness import HARNESSES, ProviderHarness, Shopfront


@pytest.fixture(scope="session")
def _emulators() -> Iterator[dict[str, ProviderHarness]]:
    started: dict[str, ProviderHarness] = {}
    try:
        yield started
    finally:
        for harness in started.values():
            harness.stop()


@pytest.fixture(params=list(HARNESSES))
def harness(request: pytest.FixtureRequest, _emulators: dict[str, ProviderHarness]) -> ProviderHarness:
    code: str = request.param
    running = _emulators.get(code)
    if running is None:
        running = HARNESSES[code]()
        running.start()
        _emulators[code] = running
    running.reset()
    return running


@pytest.fixture
def front(harness: ProviderHarness, db: None) -> Shopfront:
    return harness.shopfront()


# Scenarios that reveal a bug in kessai/ (not fixed here: the suite stays honest). Keyed by test id.
KNOWN_BUGS: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        reason = KNOWN_BUGS.get(item.name)
        if reason is not None and item.nodeid.startswith("tests/conformance/"):
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
