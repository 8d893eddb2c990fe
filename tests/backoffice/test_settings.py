"""Settings: credential forms from the registry, masking, 接続テスト, webhook URLs; 支払方法; 手数料設定."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kessai.backoffice.models import AuditEntry
from kessai.providers import registry
from kessai.shops import services as shop_services
from kessai.shops.models import FeeRule, PaymentMethod, ProviderAccount
from tests import factories

pytestmark = pytest.mark.django_db
SECRET = "s3cr3t-value-xyz"


def test_account_list_has_every_registered_provider(world, owner_client):
    html = owner_client.get(reverse("backoffice:accounts")).content.decode()
    providers = registry.all_providers()
    assert len(providers) >= 22
    for info in providers:
        assert reverse("backoffice:account_detail", args=[info.code]) in html


def test_every_provider_form_is_generated_from_its_schema(world, owner_client):
    for info in registry.all_providers():
        html = owner_client.get(reverse("backoffice:account_detail", args=[info.code])).content.decode()
        for field in info.schema.fields:
            assert f'for="test-{info.code}-{field.key}"' in html, (info.code, field.key)
            assert f'for="production-{info.code}-{field.key}"' in html, (info.code, field.key)
            assert field.label in html


def test_gmo_atobarai_shop_code_must_start_with_ab(world, owner_client):
    url = reverse("backoffice:account_detail", args=["gmo_atobarai"])
    fields = registry.schema("gmo_atobarai").fields
    data = {"environment": "test", "capture": "manual", "active": "on"}
    data |= {f"cred_{f.key}": "x" for f in fields if f.required}
    data |= {"cred_authentication_id": "0123456789", "cred_shop_code": "zz00001"}

    response = owner_client.post(url, data)

    assert response.status_code == 400
    assert "abから始まる加盟店コードを設定してください。" in response.content.decode()
    assert not ProviderAccount.objects.filter(provider="gmo_atobarai").exists()


def test_secrets_are_masked_after_save_and_kept_when_left_empty(world, owner_client):
    account = ProviderAccount.objects.get(shop=world.shop, provider="fake")
    url = reverse("backoffice:account_detail", args=["fake"])

    html = owner_client.get(url).content.decode()
    assert SECRET not in html
    assert "••••••••-xyz" in html
    assert 'value="M-0001"' in html

    owner_client.post(
        url,
        {
            "environment": "test",
            "cred_merchant_id": "M-0002",
            "cred_api_secret": "",
            "capture": "immediate",
            "active": "on",
        },
    )

    assert shop_services.decrypt_credentials(ProviderAccount.objects.get(pk=account.pk)) == {
        "merchant_id": "M-0002",
        "api_secret": SECRET,
    }
    entry = AuditEntry.objects.get(action="provider_account.update")
    assert entry.before["credentials"] == {"merchant_id": "M-0001", "api_secret": "••••••••-xyz"}
    assert entry.after["credentials"]["merchant_id"] == "M-0002"
    assert entry.after["options"] == {"capture": "immediate"}
    assert SECRET not in str(entry.before) + str(entry.after)


def test_production_account_side_by_side_and_webhook_urls(world, owner_client):
    url = reverse("backoffice:account_detail", args=["fake"])
    owner_client.post(
        url,
        {
            "environment": "production",
            "cred_merchant_id": "LIVE-1",
            "cred_api_secret": "live-secret-123456",
            "capture": "manual",
        },
    )

    accounts = {a.environment: a for a in ProviderAccount.objects.filter(shop=world.shop, provider="fake")}
    assert set(accounts) == {"test", "production"}
    assert accounts["test"].active
    assert not accounts["production"].active
    html = owner_client.get(url).content.decode()
    assert 'id="panel-test"' in html
    assert 'id="panel-production"' in html
    for account in accounts.values():
        assert shop_services.webhook_urls(account)["payment"] in html
    assert 'data-copy="hook-production-payment"' in html


def test_connection_test_with_and_without_adapter(world, owner_client):
    url = reverse("backoffice:account_detail", args=["fake"])
    html = owner_client.post(url, {"environment": "test", "action": "test"}).content.decode()
    assert "接続に成功しました。" in html
    assert ProviderAccount.objects.get(provider="fake").last_test_ok_at is not None

    no_adapter = next(info.code for info in registry.all_providers() if not info.has_adapter)
    account = ProviderAccount(shop=world.shop, provider=no_adapter, environment="test")
    shop_services.encrypt_credentials(account, {})
    account.save()
    html = owner_client.post(
        reverse("backoffice:account_detail", args=[no_adapter]), {"environment": "test", "action": "test"}
    ).content.decode()
    assert "接続テストに対応していません" in html
    assert AuditEntry.objects.filter(action="provider_account.test").count() == 2


def test_payment_method_create_sanitises_html_and_edit_stops(world, owner_client):
    account = ProviderAccount.objects.get(provider="fake")
    owner_client.post(
        reverse("backoffice:payment_methods"),
        {
            "action": "create",
            "account": account.pk,
            "code": "fake2",
            "name": "後払い2",
            "description": '<p onclick="x()">説明<script>alert(1)</script></p>',
            "banner_url": "",
            "banner_link": "",
        },
    )
    method = PaymentMethod.objects.get(code="fake2")
    assert method.description == "<p>説明</p>"

    edit = reverse("backoffice:payment_method_edit", args=[method.pk])
    refused = owner_client.post(edit, {"action": "save", "name": " ", "description": "<b>x</b>", "banner_url": ""})
    assert "支払方法名を入力してください。" in refused.content.decode()
    method.refresh_from_db()
    assert (method.name, method.description) == ("後払い2", "<p>説明</p>")
    owner_client.post(edit, {"action": "stop"})
    method.refresh_from_db()
    assert not method.active
    assert AuditEntry.objects.get(action="payment_method.stop").after["active"] is False


def test_payment_method_used_by_orders_cannot_be_deleted(world, payment, owner_client):
    response = owner_client.post(
        reverse("backoffice:payment_method_edit", args=[world.method.pk]), {"action": "delete"}, follow=True
    )
    assert "この支払方法は受注で使用されているため削除できません。「停止」にしてください。" in response.content.decode()
    assert PaymentMethod.objects.filter(pk=world.method.pk).exists()


def test_unused_payment_method_is_deleted(world, owner_client):
    other = factories.fake_method(world.shop, world.method.provider_account, code="spare")
    owner_client.post(reverse("backoffice:payment_method_edit", args=[other.pk]), {"action": "delete"})
    assert not PaymentMethod.objects.filter(pk=other.pk).exists()


def test_reorder_by_drop_order_and_by_keyboard_buttons(world, owner_client):
    account = world.method.provider_account
    b = factories.fake_method(world.shop, account, code="b")
    c = factories.fake_method(world.shop, account, code="c")
    url = reverse("backoffice:payment_methods")

    owner_client.post(url, {"action": "reorder", "order": [c.pk, world.method.pk, b.pk]})
    assert list(PaymentMethod.objects.order_by("sort").values_list("code", flat=True)) == ["c", "fake", "b"]

    owner_client.post(url, {"action": "reorder", "move": f"{b.pk}:up"})
    assert list(PaymentMethod.objects.order_by("sort").values_list("code", flat=True)) == ["c", "b", "fake"]
    assert AuditEntry.objects.filter(action="payment_method.reorder").count() == 2


def test_fee_tiers_are_validated(world, owner_client):
    url = reverse("backoffice:fees")
    bad = owner_client.post(
        url, {"provider": "fake", "min_amount": ["1", "5000"], "max_amount": ["5999", "9999"], "fee": ["205", "300"]}
    )
    assert bad.status_code == 400
    assert "金額帯が重複しています" in bad.content.decode()
    assert not FeeRule.objects.exists()

    text = owner_client.post(url, {"provider": "fake", "min_amount": ["1"], "max_amount": ["abc"], "fee": ["205"]})
    assert "上限金額は半角数字(円)で入力してください。" in text.content.decode()

    owner_client.post(
        url,
        {
            "provider": "fake",
            "min_amount": ["1", "１０,０００", ""],
            "max_amount": ["9999", "999999", ""],
            "fee": ["205", "330", ""],
        },
    )
    assert FeeRule.objects.get().tiers == [
        {"min_amount": 1, "max_amount": 9999, "fee": 205},
        {"min_amount": 10000, "max_amount": 999999, "fee": 330},
    ]
    assert AuditEntry.objects.get(action="fee_rule.set").after["tiers"][1]["fee"] == 330
