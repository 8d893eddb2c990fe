"""Regression guard for the payment operations' hot path (the API's authorize / capture / cancel / token charge):
each stays within the SQL statement budget measured in docs/benchmarks.md. The steps themselves — lock, pending
operation committed before the call, call, completion — are what tests/payments/test_services.py proves.

Counted as production runs them — real transactions (``transaction=True``) — with Django's query log, which also
lists each transaction's BEGIN and COMMIT. The fake provider answers in memory.
"""

from __future__ import annotations

import pytest

from kessai.payments import services
from kessai.payments.models import Payment
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

# begin: lock, in-flight check (after the lock: see services._begin), [move to authorizing], pending operation —
# committed; complete: lock, history, operation, [provider reference], payment, outbox event — committed.
AUTHORIZE_STATEMENTS = 10
CAPTURE_STATEMENTS = 8
CANCEL_STATEMENTS = 8
OPERATION_TRANSACTIONS = 2
# start_payment with a buyer token: payment method, fee tiers (twice), earlier payments, the fee line under the
# order's lock, payment insert, then the charge.
TOKEN_PAYMENT_STATEMENTS = 16
TOKEN_PAYMENT_TRANSACTIONS = 3


def budget(statements: int, transactions: int) -> int:
    """The query log's count: the statements plus BEGIN and COMMIT of each transaction."""
    return statements + 2 * transactions


@pytest.fixture
def method(fake_ledger):
    shop = factories.shop()
    return factories.fake_method(shop)


def new_payment(method) -> Payment:
    order = factories.order(method.shop)
    return Payment.objects.create(
        shop=method.shop,
        order=order,
        payment_method=method,
        account=method.provider_account,
        provider="fake",
        shop_transaction_no=order.shop_order_no,
        amount=order.amount,
    )


def test_authorize_capture_and_cancel_stay_within_their_statement_budgets(method, django_assert_max_num_queries):
    payment = new_payment(method)

    with django_assert_max_num_queries(budget(AUTHORIZE_STATEMENTS, OPERATION_TRANSACTIONS)):
        payment = services.authorize(payment, actor="test")
    assert payment.state == "authorized"

    with django_assert_max_num_queries(budget(CAPTURE_STATEMENTS, OPERATION_TRANSACTIONS)):
        payment = services.capture(payment, actor="test")
    assert payment.state == "captured"

    with django_assert_max_num_queries(budget(CANCEL_STATEMENTS, OPERATION_TRANSACTIONS)):
        payment = services.cancel(payment, actor="test")
    assert payment.state == "cancelled"


def test_a_token_payment_stays_within_its_statement_budget(method, django_assert_max_num_queries):
    order = factories.order(method.shop)

    with django_assert_max_num_queries(budget(TOKEN_PAYMENT_STATEMENTS, TOKEN_PAYMENT_TRANSACTIONS)):
        started = services.start_payment(
            order, method_ref=method.id, actor="test", authentication_token="tk_fake_buyer_token_0001"
        )

    assert started.payment.state == "authorized"
    assert not started.requires_action
