"""The benchmark scenarios of ``make bench`` still run: each one, tiny, against one real stack (emulator process,
gunicorn, PostgreSQL), and the summary table renders from their result documents.

The figures mean nothing here (a few requests on a busy CI machine); what is checked is that every scenario
completes without an error, that what it counts is consistent (rows in the database = acknowledged requests)
and that ``bench/report.py`` turns its JSON into a row. PostgreSQL only: run under ``scripts/pg-cluster``, as
the PostgreSQL phase of ``.ci/run`` does. It uses a database of its own on that server.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import ROOT, create_database, drop_database, is_postgres

sys.path.insert(0, str(ROOT / "bench"))

import harness
import hub_overhead
import report
import throughput
import webhook_ingest

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not is_postgres(), reason="the benchmarks run on PostgreSQL: run under scripts/pg-cluster (.ci/run does)"
    ),
]


@pytest.fixture
def running_hub(tmp_path: Path) -> Iterator[harness.Hub]:
    database_url = create_database(os.environ["DATABASE_URL"], f"kessai_bench_smoke_{secrets.token_hex(4)}")
    try:
        with harness.hub(tmp_path, workers=1, threads=4, buyers=2, database_url=database_url) as hub_:
            yield hub_
    finally:
        drop_database(database_url)


def test_every_scenario_runs_and_reports(
    running_hub: harness.Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given one running stack
    results = tmp_path / "results"
    results.mkdir()

    # when each scenario runs a few requests
    documents = {
        "hub_overhead": hub_overhead.run(
            running_hub,
            hub_overhead.parse_args(["--concurrency", "1,2", "--pairs", "2,4", "--latency-ms", "5", "--warmup", "1"]),
        ),
        "throughput": throughput.run(
            running_hub, throughput.parse_args(["--seconds", "1", "--warmup", "0.2", "--concurrency", "2"])
        ),
        "webhook_ingest": webhook_ingest.run(
            running_hub, webhook_ingest.parse_args(["--seconds", "1", "--warmup", "0.2", "--concurrency", "2"])
        ),
    }

    # then they completed without errors, and what they counted agrees with the database
    levels = documents["hub_overhead"]["levels"]
    assert [level["concurrency"] for level in levels] == [1, 2]
    assert all(level[f"{path}_run"]["errors"] == 0 for level in levels for path in ("direct", "hub"))
    assert all(
        level[op]["hub_ms"]["n"] == level[op]["direct_ms"]["n"] > 0
        for level in levels
        for op in ("authorize", "capture")
    )
    assert levels[0]["authorize"]["direct_ms"]["p50"] >= 5  # the emulated latency is there
    paid = documents["throughput"]["result"]
    assert paid["errors"] == 0
    assert paid["orders_completed"] > 0
    assert paid["captured_in_database"] == paid["orders_completed"]
    assert paid["payment_operations"] == 2 * paid["orders_completed"]
    hooks = documents["webhook_ingest"]["result"]
    assert hooks["errors"] == 0
    assert hooks["acknowledged"] > 0
    assert hooks["stored_in_database"] == {"received": hooks["acknowledged"]}

    # and the summary table has a row for each, built from their JSON
    for name, data in documents.items():
        (results / f"{name}.json").write_text(json.dumps(data))
    monkeypatch.setattr(report, "RESULTS", results)
    table = report.render()
    assert table.startswith(report.START)
    assert table.endswith(report.END)
    for scenario in ("hub overhead", "throughput", "webhook ingestion"):
        assert scenario in table
    assert table.count("not run yet") == 2  # the long runs (受注リスト, 継続課金) have no result here
