"""決済Webhook / 認証Webhook delivery, retries with backoff, and the Webhook失敗 mail."""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest

from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, AtoneSandbox, AtoneSandboxConfig, create_app

from .conftest import FAST_RETRIES
from .helpers import PHONE, create_body, with_customer
from .receivers import WebhookReceiver, free_port, smtp_server, webhook_receiver


def configure(control: httpx.Client, **fields: str | None) -> None:
    response = control.post("/merchants", json={"public_key": DEFAULT_PUBLIC_KEY, **fields})
    assert response.status_code == 200, response.text


def test_payment_and_authentication_webhooks_are_delivered(
    api: httpx.Client, control: httpx.Client, sandbox: AtoneSandbox
) -> None:
    receiver = WebhookReceiver()
    with webhook_receiver(receiver) as hooks:
        configure(
            control,
            payment_webhook_url=hooks.url + "/hooks/atone/payment",
            authentication_webhook_url=hooks.url + "/hooks/atone/authentication",
        )
        buyer = control.post("/authenticate", json={"phone_number": PHONE}).json()
        ok = api.post("/transactions", json=create_body(buyer["authentication_token"])).json()
        ng_body = with_customer(
            create_body(buyer["authentication_token"], shop_transaction_no="NG-1"), customer_name="NPテスト"
        )
        ng = api.post("/transactions", json=ng_body).json()
        assert sandbox.wait_for_webhooks(5)
    assert [(h.path, h.body) for h in receiver.received] == [
        (
            "/hooks/atone/authentication",
            {"authentication_token": buyer["authentication_token"], "user_no": buyer["user_no"]},
        ),
        ("/hooks/atone/payment", ok),
        ("/hooks/atone/payment", ng),
    ]
    assert {h.content_type for h in receiver.received} == {"application/json; charset=utf-8"}
    assert {h.user_agent for h in receiver.received} == {"atone-sandbox-webhook/1 (kessai)"}
    log = control.get("/webhooks").json()
    assert log["idle"] is True
    assert [
        (d["id"], d["kind"], d["status"], [a["status_code"] for a in d["attempts"]]) for d in log["deliveries"]
    ] == [
        (1, "authentication", "delivered", [200]),
        (2, "payment", "delivered", [200]),
        (3, "payment", "delivered", [200]),
    ]


def test_settle_and_refund_send_no_payment_webhook(
    api: httpx.Client, control: httpx.Client, token: str, sandbox: AtoneSandbox
) -> None:
    receiver = WebhookReceiver()
    with webhook_receiver(receiver) as hooks:
        configure(control, payment_webhook_url=hooks.url + "/p")
        tx_id = api.post("/transactions", json=create_body(token)).json()["id"]
        api.patch(f"/transactions/{tx_id}/settle")
        api.patch(f"/transactions/{tx_id}/refund")
        assert sandbox.wait_for_webhooks(5)
    assert [h.body["id"] for h in receiver.received] == [tx_id]


def test_no_url_means_no_delivery(api: httpx.Client, control: httpx.Client, token: str) -> None:
    api.post("/transactions", json=create_body(token))
    assert control.get("/webhooks?wait=1").json() == {"idle": True, "deliveries": []}


def test_non_2xx_is_retried_until_delivered(api: httpx.Client, control: httpx.Client, token: str) -> None:
    receiver = WebhookReceiver(statuses=[500, 404])
    with webhook_receiver(receiver) as hooks:
        configure(control, payment_webhook_url=hooks.url + "/p", failure_notification_email="ops@example.jp")
        tx = api.post("/transactions", json=create_body(token)).json()
        [delivery] = control.get("/webhooks?wait=5").json()["deliveries"]
    assert [h.body for h in receiver.received] == [tx, tx, tx]
    assert (delivery["status"], [a["status_code"] for a in delivery["attempts"]]) == ("delivered", [500, 404, 200])
    assert delivery["failure_notice"] is None


def test_exhausted_retries_send_the_failure_mail(sandbox_config: AtoneSandboxConfig) -> None:
    receiver = WebhookReceiver(default_status=503)
    with smtp_server() as (smtp_port, mailbox), webhook_receiver(receiver) as hooks:
        config = dataclasses.replace(sandbox_config, smtp_host="127.0.0.1", smtp_port=smtp_port)
        app = create_app(config)
        try:
            app.store.merchants[DEFAULT_PUBLIC_KEY] = dataclasses.replace(
                app.default_merchant,
                payment_webhook_url=hooks.url + "/hooks/payment",
                failure_notification_email="ops@example.jp",
            )
            token = app.authenticate(PHONE).authentication_token
            tx = app.operations.create(app.default_merchant, create_body(token), terminal_id=None)
            assert app.wait_for_webhooks(5)
            [delivery] = app.deliveries()
        finally:
            app.close()
    assert len(receiver.received) == 1 + len(FAST_RETRIES)
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 503]
    assert delivery["failure_notice"] == {
        "to": "ops@example.jp",
        "subject": "【atone】Webhook送信失敗のお知らせ",
        "sent": True,
        "error": None,
    }
    [mail] = mailbox.messages
    assert mailbox.envelopes == [("webhook-notice@atone-sandbox.invalid", ["ops@example.jp"])]
    assert mail["Subject"] == "【atone】Webhook送信失敗のお知らせ"
    assert mail["To"] == "ops@example.jp"
    body = mail.get_content()
    for line in (
        "以下のWebhookの送信に失敗しました。",
        f"店舗公開可能鍵: {DEFAULT_PUBLIC_KEY}",
        "Webhook種別: 決済Webhook",
        f"送信先URL: {hooks.url}/hooks/payment",
        f"取引ID: {tx['id']}",
        "加盟店取引ID: A-1001",
        "送信回数: 3回",
        "最終結果: HTTPステータス 503",
    ):
        assert line in body


def test_connection_errors_without_smtp_are_logged_and_recorded(
    api: httpx.Client, control: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hooks"
    configure(control, authentication_webhook_url=dead, failure_notification_email="ops@example.jp")
    control.post("/authenticate", json={"phone_number": PHONE})
    [delivery] = control.get("/webhooks?wait=5").json()["deliveries"]
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [None, None, None]
    assert all(a["error"].startswith("ConnectError") for a in delivery["attempts"])
    assert delivery["failure_notice"] == {
        "to": "ops@example.jp",
        "subject": "【atone】Webhook送信失敗のお知らせ",
        "sent": False,
        "error": "no SMTP server configured",
    }
    assert "Webhook失敗 (no SMTP configured) for ops@example.jp" in caplog.text


def test_smtp_down_is_recorded(sandbox_config: AtoneSandboxConfig) -> None:
    config = dataclasses.replace(sandbox_config, smtp_host="127.0.0.1", smtp_port=free_port(), webhook_retry_delays=())
    app = create_app(config)
    try:
        app.store.merchants[DEFAULT_PUBLIC_KEY] = dataclasses.replace(
            app.default_merchant,
            authentication_webhook_url=f"http://127.0.0.1:{free_port()}/",
            failure_notification_email="ops@example.jp",
        )
        app.authenticate(PHONE)
        assert app.wait_for_webhooks(5)
        [delivery] = app.deliveries()
    finally:
        app.close()
    notice = delivery["failure_notice"]
    assert (notice["sent"], notice["error"].startswith("ConnectionRefusedError")) == (False, True)
    assert len(delivery["attempts"]) == 1


def test_no_notification_address(sandbox: AtoneSandbox) -> None:
    sandbox.store.merchants[DEFAULT_PUBLIC_KEY] = dataclasses.replace(
        sandbox.default_merchant, authentication_webhook_url=f"http://127.0.0.1:{free_port()}/"
    )
    sandbox.authenticate(PHONE)
    assert sandbox.wait_for_webhooks(5)
    [delivery] = sandbox.deliveries()
    assert delivery["failure_notice"]["error"] == "no notification address configured"


def test_reset_discards_scheduled_retries(sandbox_config: AtoneSandboxConfig) -> None:
    app = create_app(dataclasses.replace(sandbox_config, webhook_retry_delays=(30.0,)))
    receiver = WebhookReceiver(default_status=500)
    try:
        with webhook_receiver(receiver) as hooks:
            app.store.merchants[DEFAULT_PUBLIC_KEY] = dataclasses.replace(
                app.default_merchant, authentication_webhook_url=hooks.url
            )
            app.authenticate(PHONE)
            deadline = time.monotonic() + 5
            while not (app.deliveries() and app.deliveries()[0]["attempts"]) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert app.deliveries()[0]["attempts"][0]["status_code"] == 500
            app.reset()
            assert app.wait_for_webhooks(1)
            assert app.deliveries() == []
    finally:
        app.close()
    assert len(receiver.received) == 1


def test_duplicate_and_delay_faults_repeat_and_reorder_deliveries(
    api: httpx.Client, control: httpx.Client, token: str, sandbox: AtoneSandbox
) -> None:
    receiver = WebhookReceiver()
    with webhook_receiver(receiver) as hooks:
        configure(control, payment_webhook_url=hooks.url + "/p")
        faults = control.post("/faults", json={"webhook_duplicate": {"count": 1}, "webhook_delay_ms": 300}).json()
        assert (faults["webhook_duplicate"], faults["webhook_delay_ms"]) == ({"count": 1, "probability": 0.0}, 300)
        ids = [
            api.post("/transactions", json=create_body(token, shop_transaction_no=f"D-{n}")).json()["id"]
            for n in range(8)
        ]
        assert sandbox.wait_for_webhooks(5)
    received = [h.body["id"] for h in receiver.received]
    assert sorted(received) == sorted([*ids, ids[0]])  # the first one twice (count 1), every one delivered
    assert received != [ids[0], *ids]  # random hold-backs of up to 300 ms: not in the order they were made
    log = control.get("/webhooks").json()["deliveries"]
    assert [(d["id"], d["duplicate_of"], d["payload"]["id"]) for d in log[:2]] == [(1, None, ids[0]), (2, 1, ids[0])]
    injected = control.get("/faults").json()["injected"]
    assert injected == {"webhook_delay": 9, "webhook_duplicate": 1}


def test_webhook_faults_are_validated(control: httpx.Client) -> None:
    assert control.post("/faults", json={"webhook_duplicate": {"probability": 2}}).status_code == 400
    assert control.post("/faults", json={"webhook_duplicate": {"every": 1}}).status_code == 400
    assert control.post("/faults", json={"webhook_delay_ms": -1}).status_code == 400
    assert control.post("/faults", json={"webhook_duplicate": {"probability": 0.5}}).status_code == 200
    assert control.delete("/faults").json()["webhook_duplicate"] == {"count": 0, "probability": 0.0}
