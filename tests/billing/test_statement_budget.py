"""Regression guard for the 継続課金 hot path: the SQL statements of a due run stay within the budget measured
in docs/benchmarks.md (claim set-based, charge through the payment services, settle in one UPDATE).

Counted as production runs them — real transactions (``transaction=True``), the atone emulator over HTTP — with
Django's query log, which also lists each transaction's BEGIN and COMMIT.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from kessai.billing import services
from kessai.billing.models import CycleStatus, SubscriptionCycle
from kessai.payments import services as payment_services
from kessai.sandbox.atone import AtoneSandboxConfig, create_app
from kessai.sandbox.server import RunningServer, start_in_thread
from kessai.shops import services as shop_services
from tests import factories
from tests.billing.helpers import CUSTOMER, atone_account, items, jst

pytestmark = pytest.mark.django_db(transaction=True)

# One charge through payments.services.charge_with_token against atone: lock, in-flight check (after the lock:
# see services._begin), move to authorizing, pending operation — committed; then lock, history, operation,
# provider reference, payment, outbox event, buyer token — committed.
CHARGE_STATEMENTS = 11
CHARGE_TRANSACTIONS = 2
# One due cycle in a run: its charge and the UPDATE that settles it.
PER_CYCLE_STATEMENTS = CHARGE_STATEMENTS + 1
PER_CYCLE_TRANSACTIONS = CHARGE_TRANSACTIONS
# A run with one claim batch: the recovery and retry claims, the claim (select, existing cycles, one insert per
# table in a savepoint, one update of the schedules) and the empty claim that ends the loop.
PER_RUN_STATEMENTS = 11
PER_RUN_TRANSACTIONS = 4


def budget(statements: int, transactions: int) -> int:
    """The query log's count: the statements plus BEGIN and COMMIT of each transaction."""
    return statements + 2 * transactions


@pytest.fixture
def emulator() -> Iterator[RunningServer]:
    app = create_app(AtoneSandboxConfig())
    server = start_in_thread(app)
    try:
        yield server
    finally:
        server.stop()
        app.close()


def due_subscriptions(server: RunningServer, n: int) -> None:
    shop = factories.shop("予算ショップ")
    account = atone_account(shop, server.url + "/v1/")
    shop_services.create_payment_method(shop, provider_account=account, code="atone", name="atone")
    response = httpx.post(f"{server.url}/_sandbox/authenticate", json={"phone_number": CUSTOMER["phone"]}, timeout=10)
    token = response.json()["authentication_token"]
    for i in range(n):
        services.create_subscription(
            shop,
            payment_method="atone",
            token=token,
            customer=CUSTOMER,
            items=items(3240),
            amount=3240,
            first_billing_on=date(2024, 3, 1),
            member_no=str(i + 1),
        )


def test_a_due_run_stays_within_the_statement_budget_per_cycle(emulator, django_assert_max_num_queries):
    n = 8
    due_subscriptions(emulator, n)

    with django_assert_max_num_queries(
        budget(n * PER_CYCLE_STATEMENTS + PER_RUN_STATEMENTS, n * PER_CYCLE_TRANSACTIONS + PER_RUN_TRANSACTIONS)
    ):
        result = services.run_due(jst(2024, 3, 1), batch_size=20, send_mails=False)

    assert result.as_dict() == {"charged": n, "failed": 0, "skipped": 0}
    assert SubscriptionCycle.objects.filter(status=CycleStatus.CHARGED).count() == n


def test_one_charge_with_a_token_stays_within_the_statement_budget(emulator, django_assert_max_num_queries):
    due_subscriptions(emulator, 1)
    now = jst(2024, 3, 1)
    [cycle_id] = services._claim_due(now.date(), now, 10, services.RunResult())
    cycle = SubscriptionCycle.objects.select_related("payment", "subscription").get(pk=cycle_id)
    assert cycle.payment is not None
    token = services.buyer_token(cycle.subscription)

    with django_assert_max_num_queries(budget(CHARGE_STATEMENTS, CHARGE_TRANSACTIONS)):
        paid = payment_services.charge_with_token(cycle.payment, token=token, actor="scheduler")

    assert paid.state == "authorized"
    assert paid.provider_ref.startswith("tr_")
