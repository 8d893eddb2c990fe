"""Metrics endpoint and log redaction."""

from __future__ import annotations

import json
import logging

import pytest

from kessai.common.logging import JsonFormatter, RedactingFilter, redact
from kessai.payments import services
from kessai.providers.base import ProviderUnavailable
from tests import factories


@pytest.mark.django_db
def test_metrics_count_provider_calls_by_outcome_and_show_doubt(client, fake_ledger):
    shop = factories.shop()
    payment = factories.authorized_payment(shop, factories.fake_method(shop))
    fake_ledger.script.append("lost")
    with pytest.raises(ProviderUnavailable):
        services.capture(payment, actor="t")

    response = client.get("/metrics")

    assert response.status_code == 200
    text = response.content.decode()
    assert 'kessai_provider_calls_total{operation="authorize",outcome="ok",provider="fake"}' in text
    assert 'kessai_provider_calls_total{operation="capture",outcome="unavailable",provider="fake"}' in text
    assert 'kessai_provider_latency_seconds_bucket{le="0.01",operation="capture",provider="fake"}' in text
    assert 'kessai_operations_in_doubt{result="unknown"} 1.0' in text
    assert "kessai_inbound_webhook_backlog 0.0" in text


@pytest.mark.django_db
def test_metrics_need_the_token_when_one_is_configured(client, settings):
    settings.KESSAI_METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200


def test_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz")["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    ("line", "leaked"),
    [
        ("key sk_live_AbCdEfGh12345678901234567890 used", "12345678901234567890"),
        ("Authorization: Basic a2Vzc2FpLWRlbW8tYXRvbmUtc2swMQ==", "a2Vzc2FpLWRlbW8tYXRvbmUtc2swMQ"),
        ("secret whsec_c2VjcmV0c2VjcmV0c2VjcmV0", "c2VjcmV0c2VjcmV0"),
        ("token tk_Fj2pd6CMEiFp04zcmTOiBLfm", "CMEiFp04zcmTOiBLfm"),
    ],
)
def test_secrets_are_redacted_from_log_lines(line: str, leaked: str) -> None:
    assert leaked not in redact(line)
    record = logging.LogRecord("kessai", logging.INFO, __file__, 1, "%s", (line,), None)
    RedactingFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert leaked not in entry["message"]
    assert entry["level"] == "INFO"
