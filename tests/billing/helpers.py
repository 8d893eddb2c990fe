"""Builders for the billing tests (plain functions; the fake provider's ledger comes from the fixture)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kessai.billing import services
from kessai.billing.models import Subscription
from kessai.common.jst import JST
from kessai.shops import services as shop_services
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop
from tests import factories

CUSTOMER = {
    "name": "うえる かあと",
    "name_kana": "ウエル カアト",
    "email": "member@example.jp",
    "phone": "090-1234-5678",
    "zip_code": "107-0052",
    "address": "東京都港区赤坂1-2-3",
}


def jst(y: int, m: int, d: int, hh: int = 9, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=JST)


def items(amount: int) -> list[dict[str, Any]]:
    return [{"sku": "MAG-1", "name": "月刊ウェルカート", "unit_price": amount, "quantity": 1}]


def shop_with_method(
    *, options: dict[str, Any] | None = None, name: str = "継続ショップ"
) -> tuple[Shop, PaymentMethod]:
    shop = factories.shop(name)
    account = factories.fake_account(shop)
    if options:
        account.options = options
        account.save(update_fields=["options"])
    return shop, factories.fake_method(shop, account)


def subscription(
    shop: Shop,
    method: PaymentMethod,
    *,
    amount: int = 3240,
    first: date = date(2024, 1, 31),
    billing_day: int | None = None,
    member_no: str = "1015",
    customer: dict[str, Any] | None = None,
    renewal_months: int | None = None,
    applied_at: datetime | None = None,
) -> Subscription:
    return services.create_subscription(
        shop,
        payment_method=method.code,
        token="tk_fake_buyer_token_0001",
        customer=customer or CUSTOMER,
        items=items(amount),
        amount=amount,
        first_billing_on=first,
        billing_day=billing_day,
        renewal_interval_months=renewal_months,
        member_no=member_no,
        applied_at=applied_at or jst(2024, 1, 15, 16, 39),
        actor="test",
    )


def atone_account(shop: Shop, base_url: str, **options: Any) -> ProviderAccount:
    from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY

    return shop_services.create_provider_account(
        shop,
        provider="atone",
        environment="test",
        credentials={"public_key": DEFAULT_PUBLIC_KEY, "secret_key": DEFAULT_SECRET_KEY},
        options=options,
        base_url=base_url,
    )
