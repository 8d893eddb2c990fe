"""The billing back-office screens: 継続課金会員リスト, 継続課金会員情報, 継続課金設定 — roles and tenant isolation."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from kessai.billing import services
from kessai.billing.models import BillingSettings, CycleStatus, MailTemplate, SubscriptionCycle
from kessai.shops import services as shop_services
from kessai.shops.models import Role
from tests.billing.helpers import CUSTOMER, jst, shop_with_method, subscription

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-enough-passw0rd"


def login(shop, role: str, username: str | None = None) -> Client:
    name = username or f"{role}-{shop.pk[-6:]}"
    membership = shop_services.add_staff(shop, username=name, password=PASSWORD, role=role)
    client = Client()
    client.force_login(membership.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def charged(fake_ledger):
    shop, method = shop_with_method()
    ok = subscription(shop, method, first=date(2024, 3, 1), member_no="1015")
    ng = subscription(
        shop, method, first=date(2024, 3, 1), member_no="1027", customer={**CUSTOMER, "name": "かあと はなこ"}
    )
    fake_ledger.script.extend(["ok", "decline"])
    services.run_due(jst(2024, 3, 1), send_mails=False)
    return shop, ok, ng


def test_list_shows_the_welcart_columns_with_detail_and_error_markers(charged):
    shop, ok, ng = charged
    response = login(shop, Role.VIEWER).get("/billing/")
    assert response.status_code == 200
    html = response.content.decode()
    for header in ("注文番号", "会員No", "姓", "名", "総合計金額", "決済会社", "お申込み日", "初回課金日"):
        assert header in html
    assert "次回契約更新日" in html
    assert "次回課金日" in html
    assert html.count(">詳細</a>") == 2
    assert html.count('class="error-marker"') == 1
    ng_row = html[html.index(f'id="sub-{ng.pk}"') :]
    ng_row = ng_row[: ng_row.index("</tr>")]
    assert "1027" in ng_row
    assert "かあと" in ng_row
    assert "はなこ" in ng_row
    assert "決済エラー" in ng_row
    assert "¥3,240" in ng_row
    assert "2024-04-01" in ng_row
    ok_row = html[html.index(f'id="sub-{ok.pk}"') :]
    assert "決済エラー" not in ok_row[: ok_row.index("</tr>")]


def test_list_filters_errors_only(charged):
    shop, ok, ng = charged
    html = login(shop, Role.VIEWER).get("/billing/?errors=1").content.decode()
    assert f'id="sub-{ng.pk}"' in html
    assert f'id="sub-{ok.pk}"' not in html
    html = login(shop, Role.VIEWER, "viewer2").get("/billing/?q=1015&status=active").content.decode()
    assert f'id="sub-{ok.pk}"' in html
    assert f'id="sub-{ng.pk}"' not in html


def test_detail_shows_the_history_with_payment_info_links(charged):
    shop, _ok, ng = charged
    cycle = SubscriptionCycle.objects.get(subscription=ng)
    html = login(shop, Role.VIEWER).get(f"/billing/{ng.pk}/").content.decode()
    assert "継続課金会員情報" in html
    assert "与信NGです。" in html
    assert f"/orders/{cycle.order_id}/" in html
    assert "決済情報" in html
    assert "再決済" not in html.split("課金履歴")[1].split("</table>")[0]  # viewers get no buttons
    assert '<input type="date"' not in html


def test_operator_edits_amount_dates_and_stops_the_contract(charged):
    shop, ok, _ng = charged
    client = login(shop, Role.OPERATOR)
    response = client.post(
        f"/billing/{ok.pk}/",
        {"next_billing_on": "2099-05-10", "next_renewal_on": "", "amount": "5400", "status": "stopped"},
    )
    assert response.status_code == 302
    ok.refresh_from_db()
    assert (ok.amount, ok.next_billing_on, ok.status) == (5400, date(2099, 5, 10), "stopped")
    response = client.post(
        f"/billing/{ok.pk}/", {"next_billing_on": "2099-05-10", "amount": "5400", "status": "active"}
    )
    assert response.status_code == 302
    ok.refresh_from_db()
    assert ok.status == "active"


def test_bad_input_gets_a_japanese_error_and_changes_nothing(charged):
    shop, ok, _ng = charged
    response = login(shop, Role.OPERATOR).post(
        f"/billing/{ok.pk}/", {"next_billing_on": "2001-01-01", "amount": "5400", "status": "active"}
    )
    assert response.status_code == 400
    assert "次回課金日は今日以降の日付を指定してください。" in response.content.decode()
    ok.refresh_from_db()
    assert (ok.amount, ok.next_billing_on) == (3240, date(2024, 4, 1))


def test_operator_retries_a_failed_cycle(charged, fake_ledger):
    shop, _ok, ng = charged
    cycle = SubscriptionCycle.objects.get(subscription=ng)
    client = login(shop, Role.OPERATOR)
    assert "再決済" in client.get(f"/billing/{ng.pk}/").content.decode()
    response = client.post(f"/billing/cycles/{cycle.pk}/retry/")
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert (cycle.status, cycle.attempts) == (CycleStatus.CHARGED, 2)
    html = client.get(f"/billing/{ng.pk}/").content.decode()
    assert html.count("決済エラー") >= 1  # the failed attempt stays in the history
    assert fake_ledger.calls["charge"] == 3


def test_viewer_cannot_change_anything(charged, fake_ledger):
    shop, ok, ng = charged
    cycle = SubscriptionCycle.objects.get(subscription=ng)
    client = login(shop, Role.VIEWER)
    assert client.post(f"/billing/{ok.pk}/", {"amount": "1", "status": "stopped"}).status_code == 403
    assert client.post(f"/billing/cycles/{cycle.pk}/retry/").status_code == 403
    assert client.post(f"/billing/{ok.pk}/charge/").status_code == 403
    assert client.post("/billing/settings/", {"form": "settings", "auto_retry": "on"}).status_code == 403
    ok.refresh_from_db()
    assert (ok.amount, ok.status) == (3240, "active")
    assert SubscriptionCycle.objects.get(pk=cycle.pk).attempts == 1
    assert fake_ledger.calls["charge"] == 2
    assert not BillingSettings.objects.exists()


def test_another_shops_subscription_is_not_found(charged, fake_ledger):
    _shop, ok, ng = charged
    other, _method = shop_with_method(name="他店")
    client = login(other, Role.OWNER)
    cycle = SubscriptionCycle.objects.get(subscription=ng)
    assert client.get(f"/billing/{ok.pk}/").status_code == 404
    assert client.post(f"/billing/{ok.pk}/", {"amount": "1", "status": "stopped"}).status_code == 404
    assert client.post(f"/billing/cycles/{cycle.pk}/retry/").status_code == 404
    assert client.post(f"/billing/{ok.pk}/charge/").status_code == 404
    assert f"sub-{ok.pk}" not in client.get("/billing/").content.decode()
    ok.refresh_from_db()
    assert ok.status == "active"
    assert fake_ledger.calls["charge"] == 2


def test_charge_now_from_the_detail_page(charged, fake_ledger):
    shop, ok, _ng = charged
    client = login(shop, Role.OWNER)
    assert client.post(f"/billing/{ok.pk}/charge/").status_code == 302
    assert fake_ledger.calls["charge"] == 3
    assert ok.cycles.filter(status=CycleStatus.CHARGED).count() == 2


def test_settings_save_retry_days_and_templates(charged):
    shop, _ok, _ng = charged
    client = login(shop, Role.OWNER)
    assert client.get("/billing/settings/").status_code == 200
    response = client.post(
        "/billing/settings/",
        {"form": "settings", "auto_retry": "on", "retry_days": "7、3", "admin_email": "bill@example.jp"},
    )
    assert response.status_code == 302
    saved = BillingSettings.objects.get(shop=shop)
    assert (saved.auto_retry, saved.retry_days, saved.admin_email) == (True, [3, 7], "bill@example.jp")
    bad = client.post("/billing/settings/", {"form": "settings", "retry_days": "x"})
    assert bad.status_code == 400
    response = client.post(
        "/billing/settings/",
        {"form": "result_ok", "result_ok-kind": "result_ok", "result_ok-subject": "件名", "result_ok-body": "{% if %}"},
    )
    assert response.status_code == 400
    assert not MailTemplate.objects.exists()
    response = client.post(
        "/billing/settings/",
        {"form": "result_ok", "result_ok-kind": "result_ok", "result_ok-subject": "件名", "result_ok-body": "本文"},
    )
    assert response.status_code == 302
    assert MailTemplate.objects.get(shop=shop, kind="result_ok").body == "本文"
