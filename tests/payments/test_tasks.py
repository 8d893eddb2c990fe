"""The janitor settles unknown outcomes (and abandoned pending operations) by querying the provider."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kessai.payments import services
from kessai.payments.models import Operation
from kessai.payments.tasks import refresh_in_doubt_payments
from kessai.providers.base import ProviderStatus, ProviderUnavailable
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


def test_a_capture_the_provider_applies_after_its_timeout_is_not_called_failed_too_early(fake_ledger):
    # found by the fault suite in CI (seed 329028723): a capture timed out while atone was slow; a refresh came
    # before atone applied it and called it failed; then it landed — hub 仮売上, provider 売上確定, nothing asked again
    shop = factories.shop()
    payment = factories.authorized_payment(shop, factories.fake_method(shop))
    fake_ledger.script.append("unavailable")
    with pytest.raises(ProviderUnavailable):
        services.capture(payment, actor="t")

    early = services.refresh(payment, actor="janitor")  # the provider has not applied it yet

    op = payment.operations.get(kind="capture")
    assert (op.result, early.state) == ("unknown", "authorized")
    assert services.resolve_refresh_targets() == [payment.pk]  # the janitor keeps asking
    tx = fake_ledger.txs[payment.provider_ref]  # … and the provider applies it
    tx.status, tx.captured = ProviderStatus.CAPTURED, tx.amount

    settled = services.refresh(early, actor="janitor")

    op.refresh_from_db()
    assert (op.result, settled.state, settled.captured_amount) == ("succeeded", "captured", tx.amount)


def test_a_capture_the_provider_never_applied_is_failed_once_the_lease_has_passed(fake_ledger):
    shop = factories.shop()
    payment = factories.authorized_payment(shop, factories.fake_method(shop))
    fake_ledger.script.append("unavailable")
    with pytest.raises(ProviderUnavailable):
        services.capture(payment, actor="t")
    op = payment.operations.get(kind="capture")
    Operation.objects.filter(pk=op.pk).update(created_at=timezone.now() - services.STALE_PENDING_AFTER)

    refresh_in_doubt_payments()

    op.refresh_from_db()
    payment.refresh_from_db()
    assert (op.result, payment.state) == ("failed", "authorized")
    assert services.capture(payment, actor="t").state == "captured"  # the caller may capture again
