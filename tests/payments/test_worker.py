"""``kessai worker`` keeps running when the database goes away (a PostgreSQL restart or failover): the fault suite
saw it exit instead, leaving no worker to run the janitor."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from kessai.payments.management.commands import worker


def test_the_task_loop_starts_again_after_the_database_went_away(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[float] = []
    pauses: list[float] = []

    def db_worker(name: str, **options: object) -> None:
        runs.append(float(options["interval"]))  # type: ignore[arg-type]
        if len(runs) < 3:
            raise OperationalError("the database system is starting up")

    monkeypatch.setattr(worker, "call_command", db_worker)
    monkeypatch.setattr(worker.time, "sleep", pauses.append)

    worker.run_task_loop(0.5)

    assert runs == [0.5, 0.5, 0.5]  # twice refused, then it ran until stopped
    assert pauses == [0.5, 1.0]


def test_other_errors_still_stop_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    def db_worker(name: str, **options: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(worker, "call_command", db_worker)

    with pytest.raises(RuntimeError):
        worker.run_task_loop(0.5)
