"""Inbound provider webhooks: authorised by the URL token, stored before the 200, deduplicated, then
applied by the worker through the payment services — confirmed against the atone emulator, never trusted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kessai.payments import services
from kessai.payments.models import BuyerToken, Order, Payment, PaymentError
from kessai.providers.base import ProviderUnavailable
from kessai.webhooks import inbound, tasks
from kessai.webhooks.models import InboundWebhook
from tests import factories
from tests.integration.atone import hub

pytestmark = pytest.mark.django_db


@pytest.fixture
def atone_emulator() -> Iterator[hub.Emulator]:
    yield from hub.running_emulator()


@pytest.fixture
def atone(atone_emulator: hub.Emulator) -> hub.AtoneShop:
    return hub.atone_shop(atone_emulator)


def tx_body(atone: hub.AtoneShop, ref: str) -> bytes:
    """What the emulator's 決済Webhook posts: the transaction object."""
    payload = atone.emulator.app.operations.get(atone.emulator.app.default_merchant, ref)
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def hook_url(account: Any, kind: str, token: str | None = None) -> str:
    secret = token if token is not None else account.webhook_token
    return f"/hooks/{account.provider}/{account.id}/{kind}?token={secret}"


def post(client: Any, account: Any, kind: str, body: bytes, token: str | None = None) -> Any:
    return client.post(hook_url(account, kind, token), data=body, content_type="application/json")


def process_all() -> list[str]:
    return [inbound.process(pk) for pk in InboundWebhook.objects.filter(status="received").values_list("pk", flat=True)]


# --------------------------------------------------------------------------- receiving


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda acct: hook_url(acct, "payment", "wrong-token"), id="wrong token"),
        pytest.param(lambda acct: hook_url(acct, "payment", ""), id="no token"),
        pytest.param(lambda acct: f"/hooks/paidy/{acct.id}/payment?token={acct.webhook_token}", id="other provider"),
        pytest.param(
            lambda acct: f"/hooks/atone/acct_unknown/payment?token={acct.webhook_token}", id="unknown account"
        ),
        pytest.param(lambda acct: hook_url(acct, "refund"), id="unknown kind"),
    ],
)
def test_a_request_not_authorised_by_the_url_is_404_and_nothing_is_stored(client, atone, mangle):
    response = client.post(mangle(atone.account), data=b'{"id": "tr_x"}', content_type="application/json")

    assert response.status_code == 404
    assert InboundWebhook.objects.count() == 0


def test_only_post_is_accepted(client, atone):
    assert client.get(hook_url(atone.account, "payment")).status_code == 405
    assert InboundWebhook.objects.count() == 0


def test_a_delivery_is_stored_with_headers_and_raw_body_then_acknowledged_and_enqueued(
    client, atone, django_capture_on_commit_callbacks
):
    body = b'{"id": "tr_AAAAAAAAAAAAAAAA", "amount": 13824}'

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            hook_url(atone.account, "payment"),
            data=body,
            content_type="application/json",
            headers={"User-Agent": "atone-webhook", "Cookie": "sessionid=x"},
        )

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    row = InboundWebhook.objects.get()
    assert (row.account, row.provider, row.kind, row.status) == (atone.account, "atone", "payment", "received")
    assert row.body == body.decode()
    assert row.headers["User-Agent"] == "atone-webhook"
    assert "Cookie" not in row.headers
    assert row.dedup_key == hashlib.sha256(b"payment\n" + body).hexdigest()
    task = DBTaskResult.objects.get()
    assert (task.queue_name, task.args_kwargs["args"]) == ("webhooks", [row.pk])


def test_a_repeated_delivery_is_acknowledged_and_marked_duplicate(client, atone):
    body = b'{"id": "tr_AAAAAAAAAAAAAAAA"}'

    first = post(client, atone.account, "payment", body)
    second = post(client, atone.account, "payment", body)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["duplicate"] is True
    statuses = list(InboundWebhook.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["received", "duplicate"]


# --------------------------------------------------------------------------- applying payment notices


def test_a_notice_for_a_payment_still_waiting_confirms_it_by_fetch(client, atone):
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]  # the buyer's browser never reports back

    post(client, atone.account, "payment", tx_body(atone, ref))
    assert process_all() == ["applied"]

    payment.refresh_from_db()
    assert (payment.state, payment.provider_ref, payment.needs_review) == ("authorized", ref, False)
    op = payment.operations.get()
    assert (op.kind, op.result, op.actor) == ("authorize", "succeeded", "webhook")


def test_the_body_is_only_a_hint_the_fetched_transaction_decides(client, atone):
    payment = atone.start(customer=hub.customer("NPテスト"))
    ref = atone.pay(payment)["response"]["id"]
    forged = json.loads(tx_body(atone, ref))
    forged.update(authorization_result=1, authorization_result_ng_reason=None)

    post(client, atone.account, "payment", json.dumps(forged).encode())
    process_all()

    payment.refresh_from_db()
    assert payment.state == "declined"


def test_a_transaction_the_hub_does_not_know_is_adopted_and_flagged(client, atone):
    order_data = factories.order_body(shop_order_no="CART-777", customer=hub.customer("佐藤 花子"))
    widget = services.checkout_widget(atone.start())  # any widget config, then renumbered as a cart would
    widget["payment"] = _cart_payment(widget["payment"], "CART-777", order_data)
    ref = atone.emulator.pay_in_widget(widget)["response"]["id"]

    post(client, atone.account, "payment", tx_body(atone, ref))
    assert process_all() == ["applied"]

    payment = Payment.objects.get(provider_ref=ref)
    assert (payment.state, payment.amount, payment.shop_transaction_no) == ("authorized", 13824, "CART-777")
    assert payment.needs_review
    assert "課金払戻" in payment.review_reason
    assert services.can_refund_mismatch(payment)
    order = payment.order
    assert (order.shop_order_no, order.amount, order.needs_review) == ("CART-777", 13824, True)
    assert order.customer_name == "佐藤 花子"
    assert [(i["name"], i["unit_price"], i["quantity"]) for i in order.items] == [
        ("1人掛けソファ", 12800, 1),
        ("送料", 1024, 1),
    ]
    assert payment.operations.get().data["adopted"] is True


def _cart_payment(payment: dict[str, Any], number: str, order_data: dict[str, Any]) -> dict[str, Any]:
    from kessai.providers.atone.checksum import widget_checksum
    from kessai.sandbox.atone import DEFAULT_SECRET_KEY

    renumbered = {k: v for k, v in payment.items() if k != "checksum"}
    renumbered["shop_transaction_no"] = number
    renumbered["customer"] = {**renumbered["customer"], "customer_name": order_data["customer"]["name"]}
    renumbered["checksum"] = widget_checksum(renumbered, DEFAULT_SECRET_KEY)
    return renumbered


def test_an_unknown_declined_transaction_is_ignored(client, atone):
    token = atone.emulator.token()
    data = factories.order_body(customer=hub.customer("NPテスト"))
    snapshot_ref = _server_side_create(atone, token, "NOPE-1", data)

    post(client, atone.account, "payment", tx_body(atone, snapshot_ref))
    assert process_all() == ["ignored"]

    assert not Order.objects.filter(shop_order_no="NOPE-1").exists()
    assert "作成しません" in InboundWebhook.objects.get().error


def _server_side_create(atone: hub.AtoneShop, token: str, number: str, order_body: dict[str, Any]) -> str:
    """A transaction made with the shop's keys outside the hub (another system, the console)."""
    from kessai.payments.gateway import provider_for
    from kessai.providers.base import Customer, LineItem, OrderData, ProviderDeclined

    order = OrderData(
        shop_transaction_no=number,
        amount=order_body["amount"],
        items=tuple(LineItem(i["sku"], i["name"], i["unit_price"], i["quantity"]) for i in order_body["items"]),
        customer=Customer(name=order_body["customer"]["name"], phone=hub.MOBILE),
    )
    try:
        return provider_for(atone.account).charge_token(token, order, capture=False).provider_ref
    except ProviderDeclined as exc:
        if exc.snapshot is None:
            raise
        return exc.snapshot.provider_ref


def test_a_notice_naming_a_transaction_atone_does_not_have_fails_and_is_logged(client, atone):
    post(client, atone.account, "payment", b'{"id": "tr_DOESNOTEXIST0000"}')

    assert process_all() == ["failed"]

    row = InboundWebhook.objects.get()
    assert row.status == "failed"
    assert row.error
    error = PaymentError.objects.get()
    assert error.code.startswith("fetch:")
    assert error.account == atone.account


def test_an_unreadable_notice_fails_with_a_webhook_entry_in_the_error_log(client, atone):
    post(client, atone.account, "payment", b"not json")

    assert process_all() == ["failed"]

    error = PaymentError.objects.get()
    assert (error.status, error.code) == ("webhook", "webhook:payment:json")


def test_a_provider_outage_keeps_the_notice_for_a_retry_then_gives_up(client, atone, monkeypatch):
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]
    post(client, atone.account, "payment", tx_body(atone, ref))
    row = InboundWebhook.objects.get()
    atone.emulator.faults(http_5xx={"count": inbound.MAX_ATTEMPTS})

    assert inbound.process(row.pk) == "retry"

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("received", 1)
    assert "atone" in row.error
    assert inbound.process_due() == {}  # backoff: not due yet
    InboundWebhook.objects.filter(pk=row.pk).update(processed_at=timezone.now() - timedelta(hours=2))
    assert inbound.process_due() == {"retry": 1}
    InboundWebhook.objects.filter(pk=row.pk).update(attempts=inbound.MAX_ATTEMPTS - 1)
    InboundWebhook.objects.filter(pk=row.pk).update(processed_at=timezone.now() - timedelta(hours=2))
    assert inbound.process_due() == {"failed": 1}
    row.refresh_from_db()
    assert row.status == "failed"
    assert PaymentError.objects.filter(status="webhook", code="webhook:payment:gave_up").count() == 1
    payment.refresh_from_db()
    assert payment.state == "created"


def test_the_sweeper_takes_rows_whose_task_was_lost_after_the_grace_period(client, atone):
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]
    post(client, atone.account, "payment", tx_body(atone, ref))

    assert tasks.sweep_inbound_webhooks() == {}  # its own task is about to run
    InboundWebhook.objects.update(received_at=timezone.now() - inbound.SWEEP_GRACE - timedelta(seconds=1))
    assert tasks.sweep_inbound_webhooks() == {"applied": 1}

    payment.refresh_from_db()
    assert payment.state == "authorized"


def test_processing_twice_applies_once(client, atone):
    payment = atone.start()
    ref = atone.pay(payment)["response"]["id"]
    post(client, atone.account, "payment", tx_body(atone, ref))
    row = InboundWebhook.objects.get()

    assert inbound.process(row.pk) == "applied"
    assert inbound.process(row.pk) == "applied"  # the task ran twice: the second sees it done

    assert payment.operations.count() == 1


def test_a_notice_after_the_browser_already_confirmed_changes_nothing(client, atone):
    payment = atone.authorized()

    post(client, atone.account, "payment", tx_body(atone, payment.provider_ref))
    assert process_all() == ["applied"]

    assert list(payment.operations.values_list("kind", flat=True)) == ["authorize"]


def test_a_late_notice_for_the_superseded_transaction_is_harmless(client, atone):
    payment = atone.authorized()
    old_ref = payment.provider_ref
    old_body = tx_body(atone, old_ref)
    items = [{"sku": "P-1", "name": "ソファ", "unit_price": 15000, "quantity": 1}]
    changed = services.change_amount(payment, amount=15000, items=items, actor="user:staff")

    post(client, atone.account, "payment", tx_body(atone, changed.provider_ref))
    post(client, atone.account, "payment", old_body)  # reordered: the old notice arrives last
    assert process_all() == ["applied", "applied"]

    changed.refresh_from_db()
    assert (changed.state, changed.amount, changed.superseded_refs) == ("authorized", 15000, [old_ref])
    assert list(changed.operations.values_list("kind", flat=True)) == ["authorize", "change_amount"]


def test_a_lost_amount_change_is_held_by_refresh_and_resolved_by_the_new_transactions_notice(client, atone):
    payment = atone.authorized()
    old_ref = payment.provider_ref
    atone.emulator.faults(drop_after_store=1)
    items = [{"sku": "P-1", "name": "ソファ", "unit_price": 15000, "quantity": 1}]
    with pytest.raises(ProviderUnavailable):
        services.change_amount(payment, amount=15000, items=items, actor="user:staff")
    new_ref = atone.emulator.entry(old_ref)["superseded_by"]
    assert new_ref  # atone made the new transaction and cancelled the old one; the hub does not know

    held = services.refresh(payment, actor="janitor")

    assert held.state == "authorized"  # not "cancelled": the old id alone cannot tell
    assert held.needs_review
    assert services.resolve_refresh_targets() == []  # the janitor stops asking the old id
    assert held.operations.get(kind="change_amount").result == "unknown"

    post(client, atone.account, "payment", tx_body(atone, new_ref))
    assert process_all() == ["applied"]

    held.refresh_from_db()
    assert (held.state, held.provider_ref, held.amount, held.superseded_refs) == (
        "authorized",
        new_ref,
        15000,
        [old_ref],
    )
    assert held.operations.get(kind="change_amount").result == "succeeded"


def test_a_lost_token_charge_is_resolved_by_its_notice(client, atone):
    token = atone.emulator.token()
    order = factories.order(atone.shop)
    atone.emulator.faults(drop_after_store=1)
    with pytest.raises(ProviderUnavailable):
        services.start_payment(order, method_ref="atone", actor="api", authentication_token=token)
    payment = Payment.objects.get(order=order)
    assert (payment.state, payment.provider_ref) == ("unknown", "")
    ref = next(e["transaction"]["id"] for e in atone.emulator.app.ledger()["transactions"])

    post(client, atone.account, "payment", tx_body(atone, ref))
    assert process_all() == ["applied"]

    payment.refresh_from_db()
    assert (payment.state, payment.provider_ref) == ("authorized", ref)
    assert payment.operations.get(kind="charge").result == "succeeded"


def test_a_change_made_outside_the_hub_is_flagged_for_staff_and_logged(client, atone):
    from kessai.providers.atone.adapter import payment_from_order

    payment = atone.authorized()
    # Staff changed the amount in atone's merchant console: a new transaction supersedes the hub's.
    lines = [{"shop_item_id": "P-1", "item_name": "ソファ", "item_price": 12800, "item_count": 1}]
    body = {
        **payment_from_order(services.order_data(payment), capture=False),
        "amount": 12800,
        "items": lines,
        "authentication_token": payment.buyer_token,
        "updated_transactions": [payment.provider_ref],
    }
    new_ref = atone.emulator.app.operations.create(atone.emulator.app.default_merchant, body, None)["id"]

    post(client, atone.account, "payment", tx_body(atone, new_ref))
    assert process_all() == ["failed"]

    payment.refresh_from_db()
    assert payment.needs_review
    assert new_ref in payment.review_reason
    assert payment.provider_ref != new_ref  # nothing is re-pointed without proof
    error = PaymentError.objects.get(code="webhook:payment:unexpected_transaction")
    assert (error.payment, error.status) == (payment, "webhook")


# --------------------------------------------------------------------------- authentication notices


def test_an_authentication_notice_is_kept_by_member_until_a_payment_names_the_token(client, atone):
    body = json.dumps({"authentication_token": "tk_AAAAAAAAAAAAAAAAAAAAAAAA", "user_no": "1000000042"}).encode()

    post(client, atone.account, "authentication", body)
    assert process_all() == ["applied"]

    token = BuyerToken.objects.get()
    assert (token.customer_key, token.buyer_id, token.token) == (
        "buyer:1000000042",
        "1000000042",
        "tk_AAAAAAAAAAAAAAAAAAAAAAAA",
    )


def test_an_authentication_notice_after_the_payment_is_kept_for_that_customer(client, atone):
    payment = atone.authorized(customer=hub.customer(email="mika@example.jp"))
    user_no = atone.emulator.entry(payment.provider_ref)["transaction"]["customer"]["user_no"]
    body = json.dumps({"authentication_token": payment.buyer_token, "user_no": user_no}).encode()

    post(client, atone.account, "authentication", body)
    assert process_all() == ["applied"]

    token = BuyerToken.objects.get(account=atone.account)
    assert (token.customer_key, token.token, token.buyer_id) == ("mika@example.jp", payment.buyer_token, user_no)


def test_an_authentication_notice_without_a_token_fails(client, atone):
    post(client, atone.account, "authentication", b'{"user_no": "1"}')

    assert process_all() == ["failed"]
    assert BuyerToken.objects.count() == 0
    assert PaymentError.objects.get().status == "webhook"


def test_a_new_token_for_a_known_member_replaces_the_old_one(client, atone):
    payment = atone.authorized(customer=hub.customer(email="yui@example.jp"))
    user_no = atone.emulator.entry(payment.provider_ref)["transaction"]["customer"]["user_no"]
    services.record_authentication(atone.account, token=payment.buyer_token, buyer_id=user_no)
    body = json.dumps({"authentication_token": "tk_BBBBBBBBBBBBBBBBBBBBBBBB", "user_no": user_no}).encode()

    post(client, atone.account, "authentication", body)
    assert process_all() == ["applied"]

    token = BuyerToken.objects.get(account=atone.account)
    assert (token.customer_key, token.token) == ("yui@example.jp", "tk_BBBBBBBBBBBBBBBBBBBBBBBB")


def test_adopting_the_same_transaction_twice_returns_the_same_payment(atone):
    token = atone.emulator.token()
    ref = _server_side_create(atone, token, "SAME-1", factories.order_body())
    snapshot = services.lookup_transaction(atone.account, ref)

    first = services.adopt_provider_transaction(atone.account, snapshot)
    second = services.adopt_provider_transaction(atone.account, snapshot)

    assert first.pk == second.pk
    assert Payment.objects.filter(shop_transaction_no="SAME-1").count() == 1
    assert Order.objects.filter(shop_order_no="SAME-1").count() == 1
    assert first.order.items == [{"sku": ref, "name": f"決済会社の取引 {ref}", "unit_price": 13824, "quantity": 1}]


def test_adopting_onto_an_existing_order_with_another_amount_flags_both_reasons(atone):
    existing = factories.order(atone.shop, shop_order_no="SHOP-55", **hub.one_line_order(9000))
    token = atone.emulator.token()
    ref = _server_side_create(atone, token, "SHOP-55", factories.order_body())

    payment = services.adopt_provider_transaction(atone.account, services.lookup_transaction(atone.account, ref))

    assert payment.order_id == existing.pk
    assert "Kessaiに記録のない取引" in payment.review_reason
    assert "¥13,824" in payment.review_reason
    assert "¥9,000" in payment.review_reason
