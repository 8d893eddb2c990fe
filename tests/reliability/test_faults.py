"""The fault suite, short version (CI): real ``kessai serve`` / ``kessai worker`` processes and the four provider
emulators on a fresh PostgreSQL database, ~800 payment operations through the REST API while faults are injected and
the web, the worker and PostgreSQL are killed, then the reconciliation against the emulators' ledgers. About two
minutes on the 2-core machine. The full version is ``make faults`` (docs/reliability.md).

    scripts/pg-cluster .venv/bin/pytest tests/reliability/test_faults.py -s
    KESSAI_FAULTS_OPERATIONS=2000 KESSAI_FAULTS_SEED=123 scripts/pg-cluster .venv/bin/pytest tests/reliability -s

The seed is printed; ``KESSAI_FAULTS_SEED`` replays the same orders, choices and fault schedule.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from tests.processes import is_postgres
from tests.reliability.driver import RunConfig, execute, fresh_database, markdown

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def database() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not is_postgres(url):
        pytest.skip(
            "the fault suite needs PostgreSQL (real processes killed and restarted around one database, "
            "and a PostgreSQL restart): run it under scripts/pg-cluster, as .ci/run does"
        )
    with fresh_database(url) as fresh:
        yield fresh
    # The suite restarts the PostgreSQL cluster: connections this process holds to the test database are gone.
    connections.close_all()


def test_no_double_movement_no_lost_record_no_unknown_left_under_faults(database: str, tmp_path: Path) -> None:
    config = RunConfig(
        operations=int(os.environ.get("KESSAI_FAULTS_OPERATIONS", "800")),
        label="short",
        workdir=tmp_path / "stack",
        settle_timeout=240.0,
    )
    if os.environ.get("KESSAI_FAULTS_SEED"):
        config.seed = int(os.environ["KESSAI_FAULTS_SEED"])

    doc = execute(config, database)

    (tmp_path / "faults.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2))
    print("\n" + markdown(doc))
    reconciliation = doc["reconciliation"]
    report = json.dumps(reconciliation, ensure_ascii=False, indent=2)
    assert doc["operations"]["payment_operations"] >= config.operations
    assert doc["faults"]["episode_errors"] == [], doc["faults"]["episode_errors"]
    assert reconciliation["double_movements"] == 0, report
    assert reconciliation["lost_records"] == 0, report
    assert reconciliation["unresolved"] == 0, report
    assert reconciliation["disagreements"] == 0, report
    assert doc["passed"]
