"""The worker's own metrics endpoint (``kessai worker --metrics-port``) and the scheduler's job metrics."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from kessai.common import metrics, scheduler
from kessai.providers.base import Capabilities, ProviderUnavailable
from tests.processes import Stack


class Dummy:
    """The smallest provider: one capture that answers, one that times out."""

    code: ClassVar[str] = "dummy-worker-metrics"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def capture(self, ref: str) -> str:
        if ref == "timeout":
            raise ProviderUnavailable("timed out", code="timeout")
        return ref


def value(text: str, sample: str) -> float:
    """The value of one exposition line (0 when absent)."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def endpoint() -> Iterator[metrics.MetricsEndpoint]:
    running = metrics.serve_worker_metrics("127.0.0.1", 0)
    yield running
    running.stop()


def test_the_worker_endpoint_serves_the_provider_calls_of_its_process(endpoint):
    ok = 'kessai_provider_calls_total{operation="capture",outcome="ok",provider="dummy-worker-metrics"}'
    lost = 'kessai_provider_calls_total{operation="capture",outcome="unavailable",provider="dummy-worker-metrics"}'
    before = httpx.get(endpoint.url).text
    provider = metrics.InstrumentedProvider(Dummy())  # type: ignore[arg-type]

    provider.capture("tr_1")
    with pytest.raises(ProviderUnavailable):
        provider.capture("timeout")
    response = httpx.get(endpoint.url)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert value(response.text, ok) == value(before, ok) + 1
    assert value(response.text, lost) == value(before, lost) + 1
    assert "process_cpu_seconds_total" in response.text  # the worker's own process, not a web worker's
    assert httpx.get(endpoint.url.removesuffix("/metrics") + "/other").status_code == 404


def test_the_worker_endpoint_requires_the_token_when_one_is_configured():
    running = metrics.serve_worker_metrics("127.0.0.1", 0, token="scrape-secret")
    try:
        assert httpx.get(running.url).status_code == 401
        assert httpx.get(running.url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(running.url, headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("remote", "authorization", "token", "refused"),
    [
        ("127.0.0.1", "", "", None),
        ("::1", "", "", None),
        ("10.0.0.5", "", "", 403),
        ("10.0.0.5", "Bearer t0ken", "t0ken", None),
        ("127.0.0.1", "", "t0ken", 401),
        ("10.0.0.5", "Bearer other", "t0ken", 401),
    ],
)
def test_scrapes_need_loopback_or_the_token(remote, authorization, token, refused):
    assert metrics.scrape_refusal(remote, authorization, token) == refused


def succeed() -> str:
    return "done"


def fail() -> None:
    raise RuntimeError("boom")


def test_scheduler_job_runs_are_counted_and_timed(monkeypatch):
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)  # no database in this test
    ok_job = scheduler.PeriodicJob("test-ok", "tests.common.test_worker_metrics:succeed", 1.0)
    bad_job = scheduler.PeriodicJob("test-bad", "tests.common.test_worker_metrics:fail", 1.0)
    runs_ok = metrics.SCHEDULER_RUNS.labels("test-ok", "ok")
    runs_bad = metrics.SCHEDULER_RUNS.labels("test-bad", "error")
    before_ok, before_bad = runs_ok._value.get(), runs_bad._value.get()

    assert scheduler.run_job(ok_job) is True
    assert scheduler.run_job(bad_job) is False

    assert runs_ok._value.get() == before_ok + 1
    assert runs_bad._value.get() == before_bad + 1
    assert metrics.SCHEDULER_LAST_SUCCESS.labels("test-ok")._value.get() >= time.time() - 60
    assert metrics.SCHEDULER_LAST_SUCCESS.labels("test-bad")._value.get() == 0


def test_job_intervals_can_be_overridden_per_worker_and_unknown_jobs_are_refused():
    assert scheduler.intervals({"janitor": 5})["janitor"] == 5
    assert scheduler.intervals()["janitor"] == 60.0
    with pytest.raises(KeyError, match="no-such-job"):
        scheduler.intervals({"no-such-job": 1})


def test_kessai_worker_serves_its_own_metrics_even_with_a_web_multiprocess_directory(tmp_path: Path):
    # given: a worker whose environment names a Prometheus multiprocess directory (as a shared env file on a
    # host that also runs `kessai serve` would)
    web_dir = tmp_path / "prometheus-web"
    web_dir.mkdir()
    stack = Stack(tmp_path, database_url=f"sqlite:///{tmp_path / 'kessai.sqlite3'}")
    try:
        stack.migrate()
        # when: it runs with --metrics-port (readiness = its metrics URL answering)
        worker = stack.worker("--every", "janitor=0.2", metrics_port=0, env={"PROMETHEUS_MULTIPROC_DIR": str(web_dir)})
        url = worker.metrics_url  # type: ignore[attr-defined]
        sample = 'kessai_scheduler_job_runs_total{job="janitor",outcome="ok"}'
        deadline = time.monotonic() + 20
        while value(text := httpx.get(url).text, sample) < 2:
            assert time.monotonic() < deadline, f"the janitor did not run twice:\n{text[-2000:]}"
            time.sleep(0.2)
    finally:
        stack.stop_all()
    # then: its own counters (periodic jobs, process CPU), and nothing written for the web's /metrics to sum
    assert value(text, 'kessai_scheduler_job_last_success_timestamp_seconds{job="janitor"}') > 0
    assert "process_cpu_seconds_total" in text
    assert list(web_dir.iterdir()) == []
