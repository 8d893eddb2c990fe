"""Test data builders (plain functions, no factory library)."""

from __future__ import annotations

import itertools
from typing import Any

from kessai.payments import orders as order_service
from kessai.payments.models import Order, Payment
from kessai.payments.services import start_payment
from kessai.shops import services as shop_services
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop

_seq = itertools.count(1)


def shop(name: str = "テストショップ") -> Shop:
    return shop_services.create_shop(name=name, company="株式会社テスト", admin_email="admin@example.jp")


def fake_account(shop_: Shop, *, environment: str = "test", secret: str = "s3cr3t-value-xyz") -> ProviderAccount:
    return shop_services.create_provider_account(
        shop_,
        provider="fake",
        environment=environment,
        credentials={"merchant_id": "M-0001", "api_secret": secret},
    )


def fake_method(shop_: Shop, account: ProviderAccount | None = None, code: str = "fake") -> PaymentMethod:
    return shop_services.create_payment_method(
        shop_, provider_account=account or fake_account(shop_), code=code, name="Fake 後払い"
    )


def order_body(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body: dict[str, Any] = {
        "shop_order_no": f"A-{n:05d}",
        "amount": 13824,
        "items": [
            {"sku": "P-1", "name": "1人掛けソファ", "unit_price": 12800, "quantity": 1},
            {"sku": "ship", "name": "送料", "unit_price": 1024, "quantity": 1},
        ],
        "customer": {
            "name": "山田 太郎",
            "name_kana": "ヤマダ タロウ",
            "email": f"taro{n}@example.jp",
            "phone": "090-1234-5678",
            "zip_code": "107-0052",
            "address": "東京都港区赤坂1-2-3",
        },
        "destinations": [
            {
                "name": "山田 花子",
                "zip_code": "107-0052",
                "address": "東京都港区赤坂1-2-3",
                "phone": "03-1234-5678",
            }
        ],
    }
    body.update(overrides)
    return body


def order(shop_: Shop, **overrides: Any) -> Order:
    return order_service.create_order(shop_, order_body(**overrides))


def authorized_payment(shop_: Shop, method: PaymentMethod | None = None, **overrides: Any) -> Payment:
    method = method or PaymentMethod.objects.filter(shop=shop_).first() or fake_method(shop_)
    result = start_payment(order(shop_, **overrides), method_ref=method.id, actor="test")
    return result.payment
