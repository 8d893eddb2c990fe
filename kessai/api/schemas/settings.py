"""Shop settings over the API: provider accounts (外部連携アカウント), payment methods, fee rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from kessai.api.schemas.common import EnvironmentName, InputSchema
from kessai.shops.models import FeeRule, PaymentMethod, ProviderAccount

_URL_PATTERN = r"^(https?://[^\s]+)?$"


class AccountOptions(InputSchema):
    """Provider options. ``capture``: manual = 仮売上, immediate = 即時売上確定. Other keys are provider-specific."""

    model_config = ConfigDict(strict=True, extra="allow")

    capture: Literal["manual", "immediate"] | None = None


class ProviderAccountIn(InputSchema):
    provider: str = Field(min_length=1, max_length=40, examples=["atone"])
    environment: EnvironmentName | None = Field(None, description="省略時は APIキーの環境 / defaults to the key's")
    credentials: dict[str, str | bool] = Field(description="書き込み専用 (読み出し時はマスク) / write-only")
    options: AccountOptions | None = None
    base_url: str = Field("", max_length=200, description="サンドボックスの接続先 (テスト環境のみ)")
    active: bool = True


class ProviderAccountPatch(InputSchema):
    credentials: dict[str, str | bool] | None = Field(None, description="空の秘密項目は現在の値のまま")
    options: AccountOptions | None = None
    base_url: str | None = Field(None, max_length=200)
    active: bool | None = None


class WebhookUrls(Schema):
    payment: str
    authentication: str


class ProviderAccountOut(Schema):
    id: str
    provider: str
    environment: EnvironmentName
    credentials: dict[str, str] = Field(description="マスク済み / masked")
    options: dict[str, Any]
    base_url: str
    active: bool
    last_test_ok_at: datetime | None
    created_at: datetime
    webhook_urls: WebhookUrls = Field(description="決済会社の管理画面に登録する通知URL")


class ProviderAccountList(Schema):
    data: list[ProviderAccountOut]
    has_more: bool
    next_cursor: str | None


class ConnectionTestOut(Schema):
    ok: bool
    message: str
    last_test_ok_at: datetime | None


class PaymentMethodIn(InputSchema):
    provider_account: str = Field(min_length=1, max_length=60, description="acct_…")
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=10_000, description="HTML可 (サニタイズされます)")
    banner_url: str = Field("", max_length=200, pattern=_URL_PATTERN)
    banner_link: str = Field("", max_length=200, pattern=_URL_PATTERN)
    active: bool = Field(True, description="true = 使用, false = 停止")
    sort: int | None = Field(None, ge=0, le=100_000)


class PaymentMethodPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=10_000)
    banner_url: str | None = Field(None, max_length=200, pattern=_URL_PATTERN)
    banner_link: str | None = Field(None, max_length=200, pattern=_URL_PATTERN)
    active: bool | None = None
    sort: int | None = Field(None, ge=0, le=100_000)


class PaymentMethodOut(Schema):
    id: str
    provider_account: str
    provider: str
    code: str
    name: str
    description: str
    banner_url: str
    banner_link: str
    active: bool
    sort: int
    created_at: datetime


class PaymentMethodList(Schema):
    data: list[PaymentMethodOut]
    has_more: bool
    next_cursor: str | None


class FeeTierIn(InputSchema):
    min_amount: int
    max_amount: int
    fee: int


class FeeRuleIn(InputSchema):
    tiers: list[FeeTierIn] = Field(max_length=100)
    allow_gaps: bool = Field(False, description="金額帯の隙間を許可 (隙間の金額ではこの決済は使えません)")


class FeeTierOut(Schema):
    min_amount: int
    max_amount: int
    fee: int


class FeeRuleOut(Schema):
    provider: str
    tiers: list[FeeTierOut]
    updated_at: datetime | None


def account_out(account: ProviderAccount, *, masked: dict[str, str], webhook_urls: dict[str, str]) -> dict[str, Any]:
    return {
        "id": account.id,
        "provider": account.provider,
        "environment": account.environment,
        "credentials": masked,
        "options": dict(account.options or {}),
        "base_url": account.base_url,
        "active": account.active,
        "last_test_ok_at": account.last_test_ok_at,
        "created_at": account.created_at,
        "webhook_urls": webhook_urls,
    }


def method_out(method: PaymentMethod) -> dict[str, Any]:
    return {
        "id": method.id,
        "provider_account": method.provider_account_id,
        "provider": method.provider_account.provider,
        "code": method.code,
        "name": method.name,
        "description": method.description,
        "banner_url": method.banner_url,
        "banner_link": method.banner_link,
        "active": method.active,
        "sort": method.sort,
        "created_at": method.created_at,
    }


def fee_rule_out(provider: str, rule: FeeRule | None) -> dict[str, Any]:
    return {
        "provider": provider,
        "tiers": list(rule.tiers) if rule else [],
        "updated_at": rule.updated_at if rule else None,
    }
