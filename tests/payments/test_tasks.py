"""The janitor settles unknown outcomes (and abandoned pending operations) by querying the provider."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kessai.payments import services
from kessai.payments.models import Operation
from kessai.payments.tasks import refresh_in_doubt_payments
from kessai.providers.base import ProviderUnavailable
from tests import factories

pytestmark = pytest.mark.django_db


def test_janitor_settles_an_unknown_capture_with_one_query(fake_ledger):
    shop = factories.shop()
    payment = factories.authorized_payment(shop, factories.fake_method(shop))
    other = factories.authorized_payment(shop)  # a healthy payment the janitor must leave alone
    fake_ledger.script.append("lost")
    with pytest.raises(ProviderUnavailable):
        services.capture(payment, actor="t")
    assert services.resolve_refresh_targets() == [payment.pk]

    assert refresh_in_doubt_payments() == {
        "settled": 1,
        "failed": 0,
        "resent": 0,
        "flagged": 0,
        "resend_failed": 0,
        "reshipped": 0,
        "reship_failed": 0,
    }

    payment.refresh_from_db()
    assert payment.state == "captured"
    assert fake_ledger.calls["capture"] == 1
    assert services.resolve_refresh_targets() == []
    assert not other.operations.filter(kind="refresh").exists()


def test_janitor_treats_an_abandoned_pending_operation_as_unknown(fake_ledger):
    shop = factories.shop()
    payment = factories.authorized_payment(shop, factories.fake_method(shop))
    # A worker died between writing the pending operation and completing it.
    op = Operation.objects.create(payment=payment, kind="capture", amount=payment.amount, actor="crashed")
    assert services.resolve_refresh_targets() == []  # still fresh: maybe in flight
    Operation.objects.filter(pk=op.pk).update(created_at=timezone.now() - timedelta(minutes=6))

    refresh_in_doubt_payments()

    op.refresh_from_db()
    assert op.result == "failed"  # the provider never captured it
    payment.refresh_from_db()
    assert payment.state == "authorized"
