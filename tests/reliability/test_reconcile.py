"""The reconciliation must be able to fail: each invariant is broken once on purpose in otherwise agreeing data
(a planted double capture, a refund the hub did not record, a request run twice, a second live authorization,
transactions lost in either direction, a request without an answer, an unresolved operation, a disagreement)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.reliability.providers import AtoneProfile, NpAtobaraiProfile, PaidyProfile
from tests.reliability.reconcile import HubOp, HubPayment, ProviderTx, reconcile


def agreeing() -> tuple[list[HubPayment], list[ProviderTx]]:
    """Two payments the provider agrees with: one captured and partly refunded, one authorized."""
    hub = [
        HubPayment(
            id="pay_1",
            provider="atone",
            order="A-1",
            shop_transaction_no="A-1",
            state="captured",
            amount=10_000,
            captured=10_000,
            refunded=1_000,
            provider_ref="tr_1",
            refs=("tr_1",),
            ops=(
                HubOp("charge", "succeeded", 10_000, ""),
                HubOp("capture", "succeeded", 10_000, "tr_1"),
                HubOp("refund", "succeeded", 1_000, "tr_1"),
            ),
        ),
        HubPayment(
            id="pay_2",
            provider="atone",
            order="A-2",
            shop_transaction_no="A-2",
            state="authorized",
            amount=5_000,
            provider_ref="tr_2",
            refs=("tr_2",),
            ops=(HubOp("charge", "succeeded", 5_000, ""),),
        ),
    ]
    txs = [
        ProviderTx("atone", "tr_1", "A-1", "captured", 10_000, net=9_000, captures=1, refunds=1, refunded=1_000),
        ProviderTx("atone", "tr_2", "A-2", "authorized", 5_000),
    ]
    return hub, txs


INTENTS = {("pay_1", "capture"): 1, ("pay_1", "refund"): 1}


def test_agreeing_records_pass() -> None:
    hub, txs = agreeing()
    result = reconcile(hub, txs, intents=INTENTS)
    assert result.failures == []
    assert (result.provider_transactions, result.hub_payments) == (2, 2)


def test_a_second_capture_at_the_provider_is_a_double_movement() -> None:
    hub, txs = agreeing()
    txs[0] = replace(txs[0], captures=2)
    result = reconcile(hub, txs, intents=INTENTS)
    assert [(f.kind, f.ref) for f in result.double_movements] == [("capture", "tr_1")]


def test_a_refund_the_hub_did_not_record_is_a_double_movement() -> None:
    hub, txs = agreeing()
    txs[0] = replace(txs[0], refunds=2, refunded=2_000, net=8_000)
    result = reconcile(hub, txs, intents=INTENTS)
    assert [f.kind for f in result.double_movements] == ["refund"]
    assert [f.kind for f in result.disagreements] == ["money"]  # and the hub's money is wrong


def test_a_request_carried_out_twice_is_a_double_movement_even_when_the_hub_recorded_both() -> None:
    hub, txs = agreeing()
    hub[0] = replace(hub[0], refunded=2_000, ops=(*hub[0].ops, HubOp("refund", "succeeded", 1_000, "tr_1")))
    txs[0] = replace(txs[0], refunds=2, refunded=2_000, net=8_000)
    result = reconcile(hub, txs, intents=INTENTS)  # the client asked for one refund
    assert [f.kind for f in result.double_movements] == ["refund_executed_twice"]
    assert reconcile(hub, txs, intents={**INTENTS, ("pay_1", "refund"): 2}).failures == []


def test_a_second_live_authorization_for_one_order_is_a_double_movement() -> None:
    hub, txs = agreeing()
    txs.append(ProviderTx("atone", "tr_3", "A-2", "authorized", 5_000))
    hub[1] = replace(hub[1], refs=("tr_2", "tr_3"))  # even when the hub knows both ids
    result = reconcile(hub, txs, intents=INTENTS)
    assert [(f.kind, f.ref) for f in result.double_movements] == [("authorization", "A-2")]


def test_a_provider_transaction_unknown_to_the_hub_is_a_lost_record() -> None:
    hub, txs = agreeing()
    txs.append(ProviderTx("atone", "tr_9", "A-9", "declined", 3_000))
    result = reconcile(hub, txs, intents=INTENTS)
    assert [(f.kind, f.ref) for f in result.lost_records] == [("unknown_to_hub", "tr_9")]


def test_a_hub_payment_the_provider_does_not_know_is_a_lost_record() -> None:
    hub, txs = agreeing()
    result = reconcile(hub, txs[:1], intents=INTENTS)
    assert [(f.kind, f.ref) for f in result.lost_records] == [("unknown_to_provider", "tr_2")]


def test_a_request_without_an_answer_is_a_lost_record() -> None:
    hub, txs = agreeing()
    result = reconcile(hub, txs, intents=INTENTS, requests_without_outcome=["capture /payments/pay_2/capture"])
    assert [f.kind for f in result.lost_records] == ["request_without_outcome"]


def test_an_operation_still_unknown_is_unresolved() -> None:
    hub, txs = agreeing()
    hub[1] = replace(hub[1], ops=(*hub[1].ops, HubOp("capture", "unknown", 5_000, "tr_2")))
    result = reconcile(hub, txs, intents=INTENTS)
    assert [f.kind for f in result.unresolved] == ["capture_unknown"]


def test_a_payment_without_a_provider_id_still_in_doubt_is_unresolved() -> None:
    hub, txs = agreeing()
    hub.append(
        HubPayment(
            id="pay_3",
            provider="np_atobarai",
            order="A-3",
            shop_transaction_no="A-3",
            state="unknown",
            amount=2_000,
            ops=(HubOp("authorize", "unknown", 2_000),),
        )
    )
    result = reconcile(hub, txs, intents=INTENTS)
    assert sorted(f.kind for f in result.unresolved) == ["authorize_unknown", "payment_unknown"]


@pytest.mark.parametrize(
    ("state", "kind"),
    [("captured", "state"), ("cancelled", "state")],
)
def test_a_state_the_provider_does_not_share_is_a_disagreement(state: str, kind: str) -> None:
    hub, txs = agreeing()
    hub[1] = replace(hub[1], state=state, captured=5_000 if state == "captured" else 0)
    result = reconcile(hub, txs, intents=INTENTS)
    assert [f.kind for f in result.disagreements] == [kind]


def test_a_full_refund_and_a_cancel_after_capture_move_the_same_money() -> None:
    hub, txs = agreeing()
    hub[0] = replace(hub[0], state="cancelled", refunded=10_000, ops=(*hub[0].ops, HubOp("cancel", "succeeded")))
    txs[0] = replace(txs[0], refunds=2, refunded=10_000, net=0)  # Paidy: a cancel after capture is a refund
    assert reconcile(hub, txs, intents={**INTENTS, ("pay_1", "cancel"): 1}).failures == []


def test_flagged_payments_are_reported_not_failed() -> None:
    hub, txs = agreeing()
    hub[1] = replace(hub[1], needs_review=True, review_reason="出荷報告の結果を決済会社のAPIで確認できませんでした。")
    result = reconcile(hub, txs, intents=INTENTS, review_kinds={"確認できませんでした": "unconfirmable"})
    assert result.failures == []
    assert [f.kind for f in result.needs_review] == ["unconfirmable"]


# -- the ledgers, read in common words ------------------------------------------------------------------------


def test_an_atone_ledger_is_read_in_common_words() -> None:
    ledger = {
        "transactions": [
            {
                "transaction": {
                    "id": "tr_1",
                    "shop_transaction_no": "A-1",
                    "amount": 10_000,
                    "amount_refund_total": 1_000,
                    "sales_settled_datetime": "2026-01-01T00:00:00+09:00",
                },
                "state": "settled",
                "superseded_by": None,
                "movements": {"create": 1, "settle": 1, "refund": 1, "cancel": 0},
            },
            {
                "transaction": {"id": "tr_2", "shop_transaction_no": "A-2", "amount": 5_000},
                "state": "cancelled",
                "superseded_by": "tr_3",
                "movements": {"create": 1, "settle": 0, "refund": 0, "cancel": 1},
            },
        ]
    }
    assert AtoneProfile().transactions(ledger) == [
        ProviderTx("atone", "tr_1", "A-1", "captured", 10_000, net=9_000, captures=1, refunds=1, refunded=1_000),
        ProviderTx("atone", "tr_2", "A-2", "superseded", 5_000, cancels=1),
    ]


def test_a_paidy_close_without_a_capture_is_a_cancel() -> None:
    ledger = {
        "payments": [
            {
                "payment": {"id": "pay_x", "status": "CLOSED", "amount": 3_000, "order": {"order_ref": "P-1"}},
                "movements": {"authorize": 1, "capture": 0, "refund": 0, "close": 1},
            }
        ]
    }
    assert PaidyProfile().transactions(ledger) == [ProviderTx("paidy", "pay_x", "P-1", "cancelled", 3_000, cancels=1)]


def test_np_screening_results_are_read_as_states() -> None:
    def entry(ref: str, life: str, result: str) -> dict[str, object]:
        tx = {"np_transaction_id": ref, "shop_transaction_id": ref, "billed_amount": 1_000, "life": life}
        return {"transaction": tx, "authori_result": result, "movements": {"register": 1}}

    ledger = {"transactions": [entry("1", "open", "00"), entry("2", "open", "20"), entry("3", "shipped", "00")]}
    assert [(t.ref, t.status, t.net) for t in NpAtobaraiProfile().transactions(ledger)] == [
        ("1", "authorized", 0),
        ("2", "declined", 0),
        ("3", "captured", 1_000),
    ]
