"""本番切替: refused until every item passes (an owner may override with a typed reason, audited), through
every door that can activate a production account; then the 本番テスト注文 is verified at the provider."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from kessai.backoffice.models import AuditEntry
from kessai.backoffice.services import Actor
from kessai.golive import services
from kessai.golive.checks import readiness
from kessai.golive.models import Evidence, ProductionSwitch
from kessai.payments import services as payments
from kessai.payments.models import Payment
from kessai.shops import services as shop_services
from kessai.shops.errors import ValidationFailed
from kessai.shops.models import Membership, PaymentMethod, ProviderAccount, Shop
from tests import factories
from tests.fakes.provider import FakeLedger
from tests.golive.helpers import client_for, staff

pytestmark = pytest.mark.django_db

LIVE = {"merchant_id": "LIVE-1", "api_secret": "live-secret-123456"}


class FakeGoLive:
    def __init__(self) -> None:
        self.shop: Shop = factories.shop("本番切替ショップ")
        self.members: dict[str, Membership] = staff(self.shop)
        self.test: ProviderAccount = factories.fake_account(self.shop)
        self.method: PaymentMethod = factories.fake_method(self.shop, self.test)
        self.production = shop_services.create_provider_account(
            self.shop, provider="fake", environment="production", credentials=LIVE, active=False
        )

    def actor(self, role: str = "owner") -> Actor:
        return Actor(self.members[role].user, "127.0.0.1")

    def make_ready(self) -> None:
        """The evidence a fake-provider shop can have: a 接続テスト and a test purchase, captured and cancelled."""
        services.run_connection_test(self.actor("operator"), self.test)
        payment = factories.authorized_payment(self.shop, self.method)
        payments.cancel(payments.capture(payment, actor="test"), actor="test")


@pytest.fixture
def golive(fake_ledger: FakeLedger) -> FakeGoLive:
    return FakeGoLive()


def test_no_door_activates_a_production_account_before_the_checklist(golive: FakeGoLive):
    with pytest.raises(ValidationFailed) as refused:
        shop_services.update_provider_account(golive.production, active=True)
    assert refused.value.code == "golive_required"
    with pytest.raises(ValidationFailed):
        shop_services.create_provider_account(golive.shop, provider="fake", environment="production", credentials=LIVE)

    owner = client_for(golive.members["owner"])
    form = {"environment": "production", "cred_merchant_id": "LIVE-1", "capture": "manual", "active": "on"}
    response = owner.post(reverse("backoffice:account_detail", args=["fake"]), form)

    assert response.status_code == 400
    assert "本番環境への切り替えは「本番開始チェック」で行ってください" in response.content.decode()
    golive.production.refresh_from_db()
    golive.test.refresh_from_db()
    assert (golive.production.active, golive.test.active) == (False, True)
    assert ProviderAccount.objects.filter(shop=golive.shop, environment="production").count() == 1


def test_a_shop_without_a_test_account_is_not_gated(fake_ledger: FakeLedger):
    shop = factories.shop()
    live = shop_services.create_provider_account(shop, provider="fake", environment="production", credentials=LIVE)
    assert live.active


def test_the_switch_is_refused_until_ready_and_only_owners_may_override(golive: FakeGoLive):
    with pytest.raises(ValidationFailed) as operator:
        services.switch_to_production(golive.actor("operator"), golive.production, override_reason="急ぎのため")
    assert operator.value.code == "forbidden"
    with pytest.raises(ValidationFailed) as not_ready:
        services.switch_to_production(golive.actor(), golive.production)
    assert not_ready.value.code == "golive_not_ready"
    assert "認証鍵の設定と接続テスト(テスト環境)" in not_ready.value.errors["items"]
    with pytest.raises(ValidationFailed) as short:
        services.switch_to_production(golive.actor(), golive.production, override_reason="急ぎ")
    assert short.value.code == "override_reason_required"
    assert not ProductionSwitch.objects.exists()
    golive.production.refresh_from_db()
    assert not golive.production.active

    reason = "atoneの担当者から本日中の切替を依頼されたため(テスト取引は明日実施)"
    switch = services.switch_to_production(golive.actor(), golive.production, override_reason=reason)

    golive.production.refresh_from_db()
    golive.test.refresh_from_db()
    assert (golive.production.active, golive.test.active) == (True, False)
    assert (switch.overridden, switch.override_reason, switch.from_account_id) == (True, reason, golive.test.pk)
    assert {i["key"] for i in switch.open_items} == {"keys", "test_purchase"}
    entry = AuditEntry.objects.get(action="golive.switch_override")
    assert (entry.username, entry.after["override_reason"], entry.target_id) == ("owner", reason, golive.production.pk)
    assert [i["key"] for i in entry.after["open_items"]] == ["keys", "test_purchase"]
    golive.method.refresh_from_db()
    assert golive.method.provider_account_id == golive.production.pk  # buyers keep the same 支払方法


def test_a_ready_shop_switches_without_a_reason_and_the_live_test_order_is_verified(
    golive: FakeGoLive, fake_ledger: FakeLedger
):
    golive.make_ready()
    report = readiness(golive.test)
    assert report.ready, [(i.key, i.status, i.detail) for i in report.blocking]
    assert {i.key: i.status.value for i in report.items if i.status.value == "na"}.keys() == {
        "webhook_payment",
        "webhook_authentication",
        "checkout_copy",
        "payment_guide_page",
        "legal_notice_page",
        "test_purchase_ng",
    }  # the fake provider sends no webhooks and has no official copy kit

    switch = services.switch_to_production(golive.actor(), golive.production, override_reason="使われない理由です")

    assert (switch.overridden, switch.override_reason) == (False, "")
    assert AuditEntry.objects.filter(action="golive.switch").count() == 1
    golive.production.refresh_from_db()
    report = readiness(golive.production)
    assert (report.live, report.complete, report.item("live_test_order").status.value) == (True, False, "pending")

    # the 本番テスト注文: bought on the live site, not yet cancelled at the provider
    order = factories.order(golive.shop, shop_order_no="LIVE-TEST-1")
    live_payment = payments.start_payment(order, method_ref=golive.method.pk, actor="checkout").payment
    assert live_payment.account_id == golive.production.pk
    operator = golive.actor("operator")
    with pytest.raises(ValidationFailed):
        services.record_live_test_order(operator, golive.production, "NO-SUCH-ORDER")
    services.record_live_test_order(operator, golive.production, "ＬＩＶＥ－ＴＥＳＴ－１")  # full-width is normalised
    fetches = fake_ledger.calls["fetch"]
    first = services.verify_live_test_order(operator, golive.production)

    assert fake_ledger.calls["fetch"] == fetches + 1  # asked the provider (refresh)
    item = readiness(golive.production).item("live_test_order")
    assert (first.ok, item.status.value) == (False, "ng")
    assert "まだ取消されていません(現在: 仮売上)" in item.detail

    payments.cancel(Payment.objects.get(pk=live_payment.pk), actor="user:owner")
    second = services.verify_live_test_order(operator, golive.production)

    report = readiness(golive.production)
    assert (second.ok, report.item("live_test_order").status.value, report.complete) == (True, "ok", True)
    assert second.data["order_no"] == "LIVE-TEST-1"
    assert Evidence.objects.filter(key="live_test_order").count() == 2


def test_a_switched_account_can_be_reactivated_later(golive: FakeGoLive):
    golive.make_ready()
    services.switch_to_production(golive.actor(), golive.production)
    shop_services.update_provider_account(golive.test, active=True)  # back to test for a while

    again = shop_services.update_provider_account(golive.production, active=True)

    assert again.active


def test_the_switch_page_is_for_owners(golive: FakeGoLive, client: Any):
    golive.make_ready()
    url = reverse("golive:switch", args=[golive.test.pk])

    refused = client_for(golive.members["operator"]).post(url)
    done = client_for(golive.members["owner"]).post(url, follow=True)

    assert refused.status_code == 403
    assert done.status_code == 200
    assert "本番環境に切り替えました" in done.content.decode()
    golive.production.refresh_from_db()
    assert golive.production.active
