"""Property tests: random operation sequences never leave the transition table, and the balances
replayed from the operation history always equal the provider-derived stored ones."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kessai.payments import services
from kessai.payments.ledger import replay
from kessai.payments.models import Payment
from kessai.payments.state import TRANSITIONS, InvalidTransition, PaymentState
from kessai.providers.base import ProviderError
from kessai.shops.errors import ValidationFailed
from tests import factories
from tests.fakes.provider import LEDGER, install

ACTIONS = st.sampled_from(["capture", "cancel", "refund", "change_amount", "refresh"])
OUTCOMES = st.sampled_from(["ok", "ok", "ok", "decline", "invalid", "unavailable", "lost", "pending"])
STEP = st.tuples(ACTIONS, OUTCOMES, st.integers(min_value=1, max_value=20000))


def _apply(payment: Payment, action: str, amount: int) -> None:
    if action == "capture":
        services.capture(payment, actor="prop")
    elif action == "cancel":
        services.cancel(payment, actor="prop")
    elif action == "refund":
        services.refund(payment, amount=amount, actor="prop")
    elif action == "change_amount":
        services.change_amount(
            payment,
            amount=amount,
            items=[{"sku": "S", "name": "商品", "unit_price": amount, "quantity": 1}],
            actor="prop",
        )
    else:
        services.refresh(payment, actor="prop")


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=OUTCOMES, steps=st.lists(STEP, max_size=8))
def test_random_operations_stay_on_the_chart_and_balances_agree(first: str, steps: list[tuple[str, str, int]]) -> None:
    install()
    shop = factories.shop()
    method = factories.fake_method(shop)
    LEDGER.script.append(first)
    order = factories.order(shop)
    with contextlib.suppress(ProviderError, InvalidTransition):
        services.start_payment(order, method_ref=method.id, actor="prop")
    payment = Payment.objects.get(order=order)
    seen = [PaymentState(payment.state)]

    for action, outcome, amount in steps:
        LEDGER.script[:] = [outcome]
        with contextlib.suppress(ProviderError, InvalidTransition, ValidationFailed):
            _apply(payment, action, amount)
        payment.refresh_from_db()
        seen.append(PaymentState(payment.state))

        unresolved = payment.operations.filter(result__in=["pending", "unknown"]).exists()
        if not unresolved and payment.provider_ref:
            balances = replay(payment.operations.order_by("created_at", "id"))
            assert (balances.amount, balances.captured, balances.refunded) == (
                payment.amount,
                payment.captured_amount,
                payment.refunded_amount,
            ), list(payment.operations.values_list("kind", "result", "amount"))
            assert not payment.needs_review
            tx = LEDGER.txs[payment.provider_ref]
            assert (tx.amount, tx.captured, tx.refunded) == (
                payment.amount,
                payment.captured_amount,
                payment.refunded_amount,
            )

    for before, after in itertools.pairwise(seen):
        if before != after:
            # authorizing is transient inside one call: the observable moves go through it
            assert after in TRANSITIONS[before] or after in TRANSITIONS[PaymentState.AUTHORIZING], (
                before,
                after,
            )
        assert after is not PaymentState.AUTHORIZING
    LEDGER.reset()
