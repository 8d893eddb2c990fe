"""POST/GET/PATCH /provider-accounts, POST /provider-accounts/{id}/test (接続テスト)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from kessai.api.auth import environment_of, shop_of
from kessai.api.pagination import PageParams, paginate
from kessai.api.responses import WRITE_ERRORS, documented
from kessai.api.schemas.golive import ReadinessOut
from kessai.api.schemas.settings import (
    ConnectionTestOut,
    ProviderAccountIn,
    ProviderAccountList,
    ProviderAccountOut,
    ProviderAccountPatch,
    account_out,
)
from kessai.golive.checks import readiness
from kessai.payments import selectors
from kessai.payments.connection import run_connection_test
from kessai.shops import services as shop_services
from kessai.shops.errors import ValidationFailed
from kessai.shops.models import ProviderAccount, Shop

router = Router(tags=["provider-accounts"])


def _out(account: ProviderAccount) -> dict[str, Any]:
    return account_out(
        account,
        masked=shop_services.masked_credentials(account),
        webhook_urls=shop_services.webhook_urls(account),
    )


def _refuse_switch_from_other_environment(shop: Shop, provider: str, environment: str) -> None:
    """Activating an account deactivates the provider's other account (one active per provider). A key
    must not switch off an account of the other environment: a test key would stop live payments."""
    others = selectors.provider_accounts(shop).filter(provider=provider, active=True).exclude(environment=environment)
    if others.exists():
        message = _(
            "別の環境(テスト/本番)のアカウントが有効です。有効なアカウントの切り替えは管理画面で行ってください。"
        )
        raise ValidationFailed(
            {"active": message},
            code="active_in_other_environment",
            field_codes={"active": "active_in_other_environment"},
        )


@router.post(
    "/provider-accounts",
    response=documented({201: ProviderAccountOut}, WRITE_ERRORS),
    summary="外部連携アカウントを登録 / Create a provider account",
)
def create_account(request: HttpRequest, body: ProviderAccountIn) -> tuple[int, dict[str, Any]]:
    """認証情報は書き込み専用です (応答ではマスク)。`environment` は APIキーの環境と同じでなければなりません。
    `base_url` (サンドボックス) はテスト環境のアカウントにだけ指定できます。"""
    shop, environment = shop_of(request), environment_of(request)
    if body.environment is not None and body.environment != environment:
        message = _("このAPIキーでは%(environment)s環境のアカウントだけを登録できます。") % {"environment": environment}
        raise ValidationFailed(
            {"environment": message}, code="environment_mismatch", field_codes={"environment": "environment_mismatch"}
        )
    if body.active:
        _refuse_switch_from_other_environment(shop, body.provider, environment)
    account = shop_services.create_provider_account(
        shop,
        provider=body.provider,
        environment=environment,
        credentials=body.credentials,
        options=body.options.model_dump(exclude_none=True) if body.options else None,
        base_url=body.base_url,
        active=body.active,
    )
    return 201, _out(account)


@router.get("/provider-accounts", response=documented({200: ProviderAccountList}), summary="外部連携アカウント一覧")
def list_accounts(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    qs = selectors.provider_accounts(shop_of(request), environment=environment_of(request))
    return paginate(qs, params, _out, prefix="acct").as_dict()


@router.get(
    "/provider-accounts/{account_id}", response=documented({200: ProviderAccountOut}), summary="外部連携アカウント"
)
def get_account(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _out(selectors.get_provider_account(shop_of(request), account_id, environment=environment_of(request)))


@router.get(
    "/provider-accounts/{account_id}/readiness",
    response=documented({200: ReadinessOut}),
    summary="本番開始チェック / Go-live readiness",
)
def account_readiness(request: HttpRequest, account_id: str) -> dict[str, Any]:
    """本番切替前のチェックリスト (鍵と接続テスト、Webhook受信、公式文言、説明ページ、テスト取引…) と各項目の直し方。
    保存済みの証跡を読むだけで、決済会社への通信はしません。"""
    account = selectors.get_provider_account(shop_of(request), account_id, environment=environment_of(request))
    return readiness(account).as_dict()


@router.patch(
    "/provider-accounts/{account_id}",
    response=documented({200: ProviderAccountOut}, WRITE_ERRORS),
    summary="外部連携アカウントを変更 / Update a provider account",
)
def update_account(request: HttpRequest, account_id: str, body: ProviderAccountPatch) -> dict[str, Any]:
    """空の秘密項目は現在の値のままです。認証情報を変えると接続テストの記録 (last_test_ok_at) は消えます。"""
    shop, environment = shop_of(request), environment_of(request)
    account = selectors.get_provider_account(shop, account_id, environment=environment)
    if body.active:
        _refuse_switch_from_other_environment(shop, account.provider, environment)
    account = shop_services.update_provider_account(
        account,
        credentials=body.credentials,
        options=body.options.model_dump(exclude_none=True) if body.options else None,
        base_url=body.base_url,
        active=body.active,
    )
    return _out(account)


@router.post(
    "/provider-accounts/{account_id}/test",
    response=documented({200: ConnectionTestOut}, WRITE_ERRORS),
    summary="接続テスト / Test the connection",
)
def test_account(request: HttpRequest, account_id: str) -> dict[str, Any]:
    """お金を動かさずに認証情報を確認します。成功は `last_test_ok_at` に記録され、失敗は決済エラーログに残ります。"""
    account = selectors.get_provider_account(shop_of(request), account_id, environment=environment_of(request))
    check = run_connection_test(account)
    return {"ok": check.ok, "message": check.message, "last_test_ok_at": account.last_test_ok_at}
