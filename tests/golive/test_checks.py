"""Each checklist item turns green only on real evidence: a 接続テスト against the atone emulator, webhooks
the emulator actually posted to the hub's inbound URL, pages fetched from a local web server, payments the
emulator authorized, captured, cancelled and declined."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from kessai.golive import display, services
from kessai.golive.checks import Readiness, readiness
from kessai.golive.models import Evidence
from kessai.payments import services as payments
from kessai.payments.models import Payment
from kessai.shops import services as shop_services
from kessai.shops.errors import ValidationFailed
from kessai.webhooks.models import InboundWebhook
from tests.golive.helpers import (
    BANNER,
    OFFICIAL_NAME,
    HubSession,
    PageServer,
    World,
    fresh_shop,
    legal_page,
    official_guide_page,
)
from tests.integration.atone import hub

pytestmark = pytest.mark.django_db

ACTOR = services.cli_actor()


def statuses(report: Readiness) -> dict[str, str]:
    return {item.key: item.status.value for item in report.items}


def official_copy(world: World) -> None:
    display.save_copy(
        ACTOR,
        world.shop,
        "atone",
        **{**_copy_fields(display.copy_for(world.shop, "atone")), "banner_url": BANNER},
    )
    display.apply_copy(ACTOR, world.shop, "atone")


def _copy_fields(copy: Any) -> dict[str, str]:
    fields = ("name", "banner_url", "banner_link", "description", "instructions", "notes")
    return {f: getattr(copy, f) for f in fields}


def test_a_fresh_shop_starts_red(world: World):
    report = readiness(world.test)

    assert statuses(report) == {
        "keys": "pending",
        "webhook_payment": "pending",
        "webhook_authentication": "pending",
        "checkout_copy": "ng",
        "payment_guide_page": "pending",
        "legal_notice_page": "pending",
        "test_purchase": "pending",
        "test_purchase_ng": "pending",
        "production_keys": "pending",
        "live_test_order": "pending",
    }
    assert (report.ready, report.live, report.complete) == (False, False, False)
    copy = report.item("checkout_copy")
    assert f"決済名「{OFFICIAL_NAME}」(現在:「あと払い」)" in copy.detail
    assert "バナー画像" in copy.detail
    assert "バナーのリンク先(https://atone.be/)" in copy.detail
    assert copy.how_to_fix
    assert report.as_dict()["items"][0] == {
        "key": "keys",
        "title": "認証鍵の設定と接続テスト(テスト環境)",
        "status": "pending",
        "detail": "接続テストが未実施です。",
        "how_to_fix": report.item("keys").how_to_fix,
        "stage": "before_switch",
    }


# --------------------------------------------------------------------------- 認証鍵 / 接続テスト


def test_keys_turn_green_on_a_real_connection_test_and_red_on_a_wrong_key(world: World, atone_emulator: hub.Emulator):
    evidence = services.run_connection_test(ACTOR, world.test)

    world.test.refresh_from_db()
    item = readiness(world.test).item("keys")
    assert (evidence.ok, item.status.value) == (True, "ok")
    assert world.test.last_test_ok_at is not None
    assert item.detail.startswith("接続テスト成功: ")
    assert [r["path"] for r in atone_emulator.control("GET", "/requests")["requests"]] == [
        "/v1/transactions/tr_0000000000000000"
    ]

    shop_services.update_provider_account(world.test, credentials={"secret_key": "kessai-wrong-atone-sk99"})
    world.test.refresh_from_db()
    assert readiness(world.test).item("keys").status.value == "pending"  # new keys: the old test no longer counts
    failed = services.run_connection_test(ACTOR, world.test)
    world.test.refresh_from_db()
    item = readiness(world.test).item("keys")
    assert (failed.ok, item.status.value, world.test.last_test_ok_at) == (False, "ng", None)
    assert "認証に失敗しました" in item.detail


def test_missing_keys_are_named(atone_emulator: hub.Emulator):
    shop = shop_services.create_shop(name="鍵なし")
    account = hub.atone_account(shop, atone_emulator)
    account.credentials_encrypted = ""
    shop_services.encrypt_credentials(account, {"public_key": "", "secret_key": ""})
    account.save()

    item = readiness(account).item("keys")

    assert (item.status.value, item.detail) == ("ng", "未設定の項目があります: 公開鍵、秘密鍵")


# --------------------------------------------------------------------------- 表示文言


def test_checkout_copy_turns_green_when_the_methods_show_the_official_copy(world: World):
    official_copy(world)
    assert readiness(world.test).item("checkout_copy").status.value == "ok"

    copy = display.copy_for(world.shop, "atone")
    sentence = "200円で1ポイント、atoneのお買い物に使えるお得なNPポイントが貯まります。"
    assert sentence in copy.description
    shortened = copy.description.replace(sentence, "")
    display.save_copy(ACTOR, world.shop, "atone", **{**_copy_fields(copy), "description": shortened})
    display.apply_copy(ACTOR, world.shop, "atone")

    item = readiness(world.test).item("checkout_copy")
    assert item.status.value == "ng"
    assert "atone説明文「200円で1ポイント、atoneのお買い物に使えるお得なNPポイントが貯まります。」" in item.detail


def test_a_fee_that_contradicts_the_official_notes_is_pointed_out(world: World):
    official_copy(world)
    shop_services.set_fee_rule(world.shop, "atone", [{"min_amount": 1, "max_amount": 999_999, "fee": 205}])

    item = readiness(world.test).item("checkout_copy")

    assert item.status.value == "ok"
    assert "決済手数料は無料です。" in item.detail
    assert "205円" in item.detail


# --------------------------------------------------------------------------- 掲載ページ (crawled)


def test_pages_turn_green_only_when_the_fetched_pages_carry_the_copy(world: World, pages: PageServer):
    official_copy(world)
    guide = pages.page("/guide.html", official_guide_page(world.shop))
    legal = pages.page("/law.html", legal_page(["代金引換"]))  # forgot atone
    services.save_pages(ACTOR, world.shop, payment_guide_url=guide, legal_notice_url=legal)
    assert statuses(readiness(world.test))["payment_guide_page"] == "pending"  # entered, not yet checked

    services.check_pages(ACTOR, world.shop, "atone")

    report = readiness(world.test)
    assert statuses(report)["payment_guide_page"] == "ok"
    assert statuses(report)["legal_notice_page"] == "ng"
    assert f"決済名「{OFFICIAL_NAME}」" in report.item("legal_notice_page").detail
    assert sorted(pages.hits) == ["/guide.html", "/law.html"]

    pages.page("/law.html", legal_page([OFFICIAL_NAME]))
    services.check_pages(ACTOR, world.shop, "atone")
    assert statuses(readiness(world.test))["legal_notice_page"] == "ok"

    moved = pages.page("/law2.html", legal_page([OFFICIAL_NAME]))
    services.save_pages(ACTOR, world.shop, payment_guide_url=guide, legal_notice_url=moved)
    assert statuses(readiness(world.test))["legal_notice_page"] == "pending"  # a new URL must be fetched again
    assert Evidence.objects.filter(key="legal_notice_page").count() == 2


def test_an_unreachable_page_is_ng_with_the_reason(world: World, pages: PageServer):
    services.save_pages(ACTOR, world.shop, payment_guide_url=pages.url("/gone"), legal_notice_url="")

    services.check_pages(ACTOR, world.shop, "atone")

    item = readiness(world.test).item("payment_guide_page")
    assert (item.status.value, item.detail) == ("ng", f"ページがHTTP 404を返しました: {pages.url('/gone')}")


# --------------------------------------------------------------------------- テスト取引 (scripted, emulator)


def test_the_scripted_test_purchase_runs_through_the_services_against_the_emulator(
    world: World, atone_emulator: hub.Emulator
):
    evidence = services.run_test_purchase(ACTOR, world.test)

    assert evidence.ok, evidence.detail
    assert [s["step"] for s in evidence.data["steps"]] == ["token", "authorize", "capture", "cancel", "decline"]
    ok_payment = Payment.objects.get(pk=evidence.data["ok_payment"])
    ng_payment = Payment.objects.get(pk=evidence.data["ng_payment"])
    assert (ok_payment.state, ng_payment.state) == ("cancelled", "declined")
    assert ng_payment.order.customer_name == "NPテスト"
    assert list(ok_payment.operations.order_by("created_at").values_list("kind", "result")) == [
        ("charge", "succeeded"),
        ("capture", "succeeded"),
        ("cancel", "succeeded"),
    ]
    at_provider = {e["transaction"]["id"]: e["state"] for e in atone_emulator.app.ledger()["transactions"]}
    assert at_provider == {ok_payment.provider_ref: "cancelled", ng_payment.provider_ref: "declined"}
    report = readiness(world.test)
    assert (statuses(report)["test_purchase"], statuses(report)["test_purchase_ng"]) == ("ok", "ok")


def test_a_failing_test_purchase_is_ng_and_an_uncancelled_one_is_not_evidence(
    world: World, atone_emulator: hub.Emulator
):
    atone_emulator.faults(eatn0399=1)  # the provider refuses the first charge

    evidence = services.run_test_purchase(ACTOR, world.test)

    item = readiness(world.test).item("test_purchase")
    assert (evidence.ok, evidence.data["failed_step"], item.status.value) == (False, "authorize", "ng")
    assert item.detail.startswith("テスト取引の「与信」で失敗しました: ")

    token = atone_emulator.token()
    order = hub_order(world)
    authorized = payments.start_payment(order, method_ref=world.method.pk, actor="test", authentication_token=token)
    assert authorized.payment.state == "authorized"
    assert readiness(world.test).item("test_purchase").status.value == "ng"  # authorized alone proves nothing


def hub_order(world: World) -> Any:
    from tests import factories

    return factories.order(world.shop)


def test_test_environment_actions_refuse_accounts_that_are_not_sandboxes(atone_emulator: hub.Emulator):
    shop = shop_services.create_shop(name="本物のテスト環境")
    account = shop_services.create_provider_account(
        shop,
        provider="atone",
        environment="test",
        credentials={"public_key": "kessai-demo-atone-pk01", "secret_key": "kessai-demo-atone-sk01"},
    )
    with pytest.raises(ValidationFailed) as refused:
        services.run_test_purchase(ACTOR, account)
    assert refused.value.code == "not_a_sandbox"
    assert not Payment.objects.exists()


# --------------------------------------------------------------------------- Webhook (through the hub's inbound URL)


@pytest.mark.django_db(transaction=True)
def test_webhooks_turn_green_only_when_the_emulator_reached_the_hub(
    atone_emulator: hub.Emulator, hub_server: str, settings: Any
):
    world = fresh_shop(atone_emulator)
    operator = HubSession(hub_server, world.operator)
    action = f"/golive/accounts/{world.test.pk}/"

    settings.KESSAI_PUBLIC_URL = "http://127.0.0.1:9"  # what a misconfigured install tells the provider
    assert operator.post(action + "test_webhooks/").status_code == 200
    assert atone_emulator.app.wait_for_webhooks(10.0)
    waiting = readiness(world.test)
    assert statuses(waiting)["webhook_payment"] == "pending"
    assert "テストWebhookを送信しました" in waiting.item("webhook_payment").detail
    operator.post(action + "run_checks/")  # reads the emulator's delivery log

    report = readiness(world.test)
    assert (statuses(report)["webhook_payment"], statuses(report)["webhook_authentication"]) == ("ng", "ng")
    assert "http://127.0.0.1:9/hooks/atone/" in report.item("webhook_payment").detail
    assert not InboundWebhook.objects.exists()

    settings.KESSAI_PUBLIC_URL = hub_server
    page = operator.post(action + "test_webhooks/")
    assert atone_emulator.app.wait_for_webhooks(10.0)

    assert page.status_code == 200
    rows = InboundWebhook.objects.filter(account=world.test)
    assert sorted(rows.values_list("kind", flat=True)) == ["authentication", "payment"]
    report = readiness(world.test)
    assert (statuses(report)["webhook_payment"], statuses(report)["webhook_authentication"]) == ("ok", "ok")
    assert report.item("webhook_payment").detail.startswith("受信済み: 1件")
    payload = json.loads(rows.get(kind="payment").body)
    assert payload["customer"]["customer_name"] == "NPテスト"  # the 与信NG transaction: nothing held
    assert Payment.objects.get(provider_ref=payload["id"]).state == "declined"
    assert 'data-testid="item-webhook_payment" data-status="ok"' in operator.get(action).text


# --------------------------------------------------------------------------- CLI


def test_cli_prints_the_items_and_ready_as_json(world: World, atone_emulator: hub.Emulator):
    out = StringIO()
    call_command("golive", "check", "--account", world.test.pk, "--json", "--cached", stdout=out)
    cached = json.loads(out.getvalue())
    assert (cached["ready"], cached["account"], cached["provider"]) == (False, world.test.pk, "atone")
    assert [i["key"] for i in cached["items"]][:2] == ["keys", "webhook_payment"]
    assert cached["items"][0]["status"] == "pending"

    out = StringIO()
    call_command("golive", "check", "--account", world.test.pk, "--json", stdout=out)  # runs the 接続テスト
    ran = json.loads(out.getvalue())
    assert ran["items"][0]["status"] == "ok"
    assert set(ran["items"][0]) == {"key", "title", "status", "detail", "how_to_fix", "stage"}

    text = StringIO()
    call_command("golive", "check", "--account", world.test.pk, "--cached", stdout=text)
    assert "[OK] 認証鍵の設定と接続テスト(テスト環境)" in text.getvalue()
    with pytest.raises(SystemExit) as strict:
        call_command("golive", "check", "--account", world.test.pk, "--cached", "--strict", stdout=StringIO())
    assert strict.value.code == 1
