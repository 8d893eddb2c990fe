"""継続課金 against the atone emulator over real HTTP: the keyed charge, 定期 option, capture mode, and the
recovery of charges whose answer was lost (the emulator refuses a duplicate shop_transaction_no)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from kessai.billing import services
from kessai.billing.models import CycleStatus, SubscriptionCycle
from kessai.payments import services as payment_services
from kessai.payments.models import Operation, Payment
from kessai.payments.state import Action
from kessai.sandbox.atone import AtoneSandboxConfig, create_app
from kessai.sandbox.server import RunningServer, start_in_thread
from kessai.shops import services as shop_services
from tests import factories
from tests.billing.helpers import CUSTOMER, atone_account, items, jst

pytestmark = pytest.mark.django_db


@pytest.fixture
def emulator() -> Iterator[RunningServer]:
    app = create_app(AtoneSandboxConfig())
    server = start_in_thread(app)
    try:
        yield server
    finally:
        server.stop()
        app.close()


def control(server: RunningServer, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{server.url}/_sandbox{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def atone_subscription(server: RunningServer, **options: Any):
    shop = factories.shop("atoneショップ")
    account = atone_account(shop, server.url + "/v1/", **options)
    shop_services.create_payment_method(shop, provider_account=account, code="atone", name="atone")
    token = control(server, "POST", "/authenticate", {"phone_number": CUSTOMER["phone"]})["authentication_token"]
    return services.create_subscription(
        shop,
        payment_method="atone",
        token=token,
        customer=CUSTOMER,
        items=items(3240),
        amount=3240,
        first_billing_on=date(2024, 3, 1),
        member_no="1015",
    )


def transactions(server: RunningServer, shop_transaction_no: str) -> list[dict[str, Any]]:
    ledger = control(server, "GET", "/ledger")
    return [e for e in ledger["transactions"] if e["transaction"]["shop_transaction_no"] == shop_transaction_no]


def test_a_cycle_is_one_atone_transaction_with_the_recurring_option_and_capture_mode(emulator):
    sub = atone_subscription(emulator, recurring_option=True, recurring_capture="immediate")

    assert services.run_due(jst(2024, 3, 1)).as_dict() == {"charged": 1, "failed": 0, "skipped": 0}

    cycle = SubscriptionCycle.objects.get(subscription=sub)
    [entry] = transactions(emulator, f"SUB-{sub.key}-20240301")
    tx = entry["transaction"]
    assert (tx["amount"], tx["transaction_options"], entry["state"]) == (3240, [1], "settled")
    assert tx["authentication_token"] == services.buyer_token(sub)
    assert (cycle.status, cycle.payment.provider_ref, cycle.payment.state) == (
        CycleStatus.CHARGED,
        tx["id"],
        "captured",
    )


def test_an_over_limit_charge_is_a_decline_with_atones_reason(emulator):
    sub = atone_subscription(emulator)
    services.update(sub, actor="t", amount=60000, at=jst(2024, 2, 1))  # above the emulator's ¥50,000
    assert services.run_due(jst(2024, 3, 1)).as_dict() == {"charged": 0, "failed": 1, "skipped": 0}
    cycle = SubscriptionCycle.objects.get(subscription=sub)
    assert cycle.status == CycleStatus.FAILED
    over_limit = "ご利用可能額を超えているため、atoneをご利用いただけません。"
    assert cycle.message == over_limit + "恐れ入りますが、他のお支払い方法をご利用ください。"
    [entry] = transactions(emulator, f"SUB-{sub.key}-20240301")
    assert entry["transaction"]["authorization_result"] == 2


def test_the_emulator_refuses_a_second_transaction_with_the_same_key(emulator):
    sub = atone_subscription(emulator)
    services.run_due(jst(2024, 3, 1))
    payment = SubscriptionCycle.objects.get(subscription=sub).payment
    from kessai.payments.gateway import provider_for
    from kessai.providers.base import ProviderRequestInvalid

    with pytest.raises(ProviderRequestInvalid):
        provider_for(payment.account).charge_token(
            services.buyer_token(sub), payment_services.order_data(payment), capture=False
        )
    assert len(transactions(emulator, payment.shop_transaction_no)) == 1


def test_a_charge_whose_call_never_left_is_resent_once_after_the_lease(emulator):
    sub = atone_subscription(emulator)
    now = jst(2024, 3, 1, 9)
    with time_machine.travel(now, tick=False):
        [cycle_id] = services._claim_due(now.date(), now, 10, services.RunResult())
        cycle = SubscriptionCycle.objects.get(pk=cycle_id)
        # The worker wrote its pending operation and died before the HTTP request left.
        payment_services._begin(cycle.payment_id, Action.CHARGE, amount=3240, actor="scheduler")
    assert transactions(emulator, f"SUB-{sub.key}-20240301") == []

    later = now + services.CLAIM_LEASE + timedelta(seconds=5)
    with time_machine.travel(later, tick=False):
        assert services.run_due(later).as_dict() == {"charged": 1, "failed": 0, "skipped": 0}

    [entry] = transactions(emulator, f"SUB-{sub.key}-20240301")
    cycle.refresh_from_db()
    assert (cycle.status, cycle.payment.provider_ref, cycle.payment.state) == (
        CycleStatus.CHARGED,
        entry["transaction"]["id"],
        "authorized",
    )
    ops = list(Operation.objects.filter(payment=cycle.payment).order_by("created_at"))
    assert [(o.kind, o.result) for o in ops] == [("charge", "failed"), ("charge", "succeeded")]
    assert "届いていませんでした" in ops[0].message


def test_a_charge_whose_answer_was_lost_is_never_charged_twice(emulator):
    sub = atone_subscription(emulator)
    control(emulator, "POST", "/faults", {"drop_after_store": 1})  # stored at atone, answer lost
    now = jst(2024, 3, 1, 9)
    with time_machine.travel(now, tick=False):
        assert services.run_due(now).as_dict() == {"charged": 0, "failed": 0, "skipped": 1}
    cycle = SubscriptionCycle.objects.get(subscription=sub)
    assert (cycle.payment.state, cycle.payment.provider_ref) == ("unknown", "")

    later = now + services.CLAIM_LEASE + timedelta(seconds=5)
    with time_machine.travel(later, tick=False):
        assert services.run_due(later).as_dict() == {"charged": 0, "failed": 0, "skipped": 1}
        # Flagged for staff: later runs leave it alone (no re-send storm).
        assert services.run_due(later + services.CLAIM_LEASE * 2).as_dict() == {
            "charged": 0,
            "failed": 0,
            "skipped": 0,
        }

    assert len(transactions(emulator, f"SUB-{sub.key}-20240301")) == 1
    payment = Payment.objects.get(pk=cycle.payment_id)
    assert (payment.state, payment.needs_review) == ("unknown", True)
    assert f"SUB-{sub.key}-20240301" in payment.review_reason
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.SCHEDULED
