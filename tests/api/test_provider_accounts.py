"""/provider-accounts: credentials write-only and masked, environment bound to the key, 接続テスト."""

from __future__ import annotations

import pytest

from kessai.payments.models import PaymentError
from kessai.shops import services as shop_services
from kessai.shops.models import ProviderAccount
from kessai.webhooks.models import OutboundEvent

pytestmark = pytest.mark.django_db

CREDENTIALS = {"merchant_id": "M-7777", "api_secret": "super-secret-value-1234"}


def test_create_masks_credentials_and_lists_webhook_urls(client, shop, settings):
    settings.KESSAI_PUBLIC_URL = "https://hub.example.jp"

    response = client.post(
        "/provider-accounts",
        {"provider": "fake", "environment": "test", "credentials": CREDENTIALS, "options": {"capture": "immediate"}},
    )

    assert response.status == 201
    body = response.body
    assert body["id"].startswith("acct_")
    assert body["credentials"] == {"merchant_id": "M-7777", "api_secret": "••••••••1234"}
    assert "super-secret-value-1234" not in response.raw.content.decode()
    assert body["options"] == {"capture": "immediate"}
    account = ProviderAccount.objects.get(pk=body["id"])
    assert body["webhook_urls"] == {
        "payment": f"https://hub.example.jp/hooks/fake/{account.id}/payment?token={account.webhook_token}",
        "authentication": f"https://hub.example.jp/hooks/fake/{account.id}/authentication?token={account.webhook_token}",
    }
    assert shop_services.decrypt_credentials(account) == CREDENTIALS


def test_environment_defaults_to_the_key_and_the_other_one_is_refused(client, shop):
    default = client.post("/provider-accounts", {"provider": "fake", "credentials": CREDENTIALS})
    live = client.post(
        "/provider-accounts", {"provider": "fake", "environment": "production", "credentials": CREDENTIALS}
    )

    assert default.body["environment"] == "test"
    assert (live.status, live.body["code"], live.body["errors"][0]["field"]) == (
        422,
        "environment_mismatch",
        "environment",
    )
    assert ProviderAccount.objects.count() == 1


def test_a_test_key_cannot_switch_off_the_live_account(client, shop):
    live = shop_services.create_provider_account(
        shop, provider="fake", environment="production", credentials=CREDENTIALS
    )

    response = client.post("/provider-accounts", {"provider": "fake", "credentials": CREDENTIALS})
    inactive = client.post("/provider-accounts", {"provider": "fake", "credentials": CREDENTIALS, "active": False})

    assert (response.status, response.body["code"]) == (422, "active_in_other_environment")
    assert inactive.status == 201
    live.refresh_from_db()
    assert live.active is True


def test_credential_errors_name_the_field_without_echoing_values(client, shop):
    response = client.post("/provider-accounts", {"provider": "fake", "credentials": {"merchant_id": "M-1"}})
    unknown = client.post("/provider-accounts", {"provider": "nopay", "credentials": {}})

    assert response.status == 422
    assert response.body["errors"] == [
        {"field": "credentials.api_secret", "code": "invalid", "message": "APIシークレットを入力してください。"}
    ]
    assert (unknown.status, unknown.body["code"]) == (422, "unknown_provider")
    assert not ProviderAccount.objects.exists()


def test_patch_keeps_blank_secrets_and_resets_the_connection_test(client, shop, account):
    client.post(f"/provider-accounts/{account.id}/test")

    response = client.patch(
        f"/provider-accounts/{account.id}",
        {"credentials": {"merchant_id": "M-0002", "api_secret": ""}, "options": {"capture": "manual"}},
    )

    assert response.status == 200
    assert response.body["credentials"]["merchant_id"] == "M-0002"
    assert response.body["last_test_ok_at"] is None
    assert response.body["options"] == {"capture": "manual"}
    account.refresh_from_db()
    assert shop_services.decrypt_credentials(account)["api_secret"] == "s3cr3t-value-xyz"


def test_base_url_override_is_refused_for_production(live_client, shop):
    response = live_client.post(
        "/provider-accounts",
        {"provider": "fake", "credentials": CREDENTIALS, "base_url": "http://127.0.0.1:9/"},
    )

    assert (response.status, response.body["errors"][0]["field"]) == (422, "base_url")
    assert not ProviderAccount.objects.exists()


def test_connection_test_records_success_and_logs_failure(client, shop, account):
    ok = client.post(f"/provider-accounts/{account.id}/test")
    shop_services.update_provider_account(account, credentials={"api_secret": "wrong"})
    failed = client.post(f"/provider-accounts/{account.id}/test")

    assert (ok.status, ok.body["ok"], ok.body["message"]) == (200, True, "接続に成功しました。")
    assert ok.body["last_test_ok_at"] is not None
    assert (failed.body["ok"], failed.body["last_test_ok_at"]) == (False, None)
    error = PaymentError.objects.get()
    assert (error.account_id, error.code, error.message) == (account.id, "test_connection", "認証に失敗しました。")
    assert OutboundEvent.objects.filter(type="payment_error.created").count() == 1
    account.refresh_from_db()
    assert account.last_test_ok_at is None


def test_list_and_get(client, shop, account):
    listed = client.get("/provider-accounts")
    fetched = client.get(f"/provider-accounts/{account.id}")

    assert [a["id"] for a in listed.body["data"]] == [account.id]
    assert fetched.body["credentials"]["api_secret"] == "••••••••-xyz"


def test_readiness_lists_the_checklist_items_with_how_to_fix(client, account):
    response = client.get(f"/provider-accounts/{account.id}/readiness")

    assert response.status == 200
    body = response.body
    assert (body["account"], body["provider"], body["environment"]) == (account.id, "fake", "test")
    assert body["ready"] is False
    assert body["items"]
    open_items = [item for item in body["items"] if item["status"] not in ("ok", "na")]
    assert open_items
    assert all(item["how_to_fix"] for item in open_items)
