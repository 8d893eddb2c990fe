"""The demo shop: a staff login, an API key, test accounts pointing at the local emulators, and a few
orders waiting at the hosted checkout (their /pay/ links are printed by ``kessai demo``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from kessai.checkout.links import checkout_url
from kessai.payments import orders as order_service
from kessai.payments import services as payment_services
from kessai.payments.models import Order, Payment
from kessai.payments.state import PaymentState
from kessai.shops import services as shop_services
from kessai.shops.models import ApiKey, Membership, PaymentMethod, ProviderAccount, Role, Shop

DEMO_SHOP_NAME = "Kessai デモショップ"
DEMO_USER = "demo"
# The atone emulator's documented default keys (docs/sandbox-atone.md).
ATONE_SANDBOX_KEYS = {"public_key": "kessai-demo-atone-pk01", "secret_key": "kessai-demo-atone-sk01"}
ATONE_NAME = "atone 翌月払い(コンビニ/口座振替)"
# The atone onboarding guide's texts for the payment-selection screen (seeds/000: 決済項目名, 説明文, banner link).
ATONE_DESCRIPTION = (
    "<p>atone (アトネ) は誰でもすぐに使える翌月払いです。今月のご利用分をまとめて、翌月にコンビニまたは口座振替で"
    "お支払いいただけます。</p><p>200円で1ポイント、atoneのお買い物に使えるお得なNPポイントが貯まります。"
    '詳細は <a href="https://atone.be/">atone の公式ページ</a>をご覧ください。</p>'
    "<p><small>決済手数料は無料です。ご利用月のみ請求手数料209円(税込)が発生いたします(口座振替の場合は無料)。</small></p>"
)


@dataclass(frozen=True)
class DemoCheckout:
    """One demo order waiting for the buyer at the hosted checkout, and what the emulator will answer."""

    prefix: str
    outcome: str  # shown next to the link
    customer_name: str
    lines: tuple[tuple[str, str, int, int], ...]  # (sku, name, unit price, quantity)


DEMO_CHECKOUTS = (
    DemoCheckout(
        "DEMO-OK",
        "与信OK → 仮売上",
        "山田 太郎",
        (("P-1", "1人掛けソファ", 12800, 1), ("ship", "送料", 1024, 1)),
    ),
    DemoCheckout(
        "DEMO-NG",
        "「NPテスト」→ 与信NG",
        "NPテスト 花子",
        (("P-2", "ダイニングチェア", 9800, 2), ("ship", "送料", 880, 1)),
    ),
    DemoCheckout(
        "DEMO-LIMIT",
        "¥50,000超 → 与信NG(金額超過)",
        "鈴木 一郎",
        (("P-3", "3人掛けソファ", 64800, 1),),
    ),
)


@dataclass
class DemoSeed:
    shop: Shop
    username: str
    api_key: str
    atone_account: ProviderAccount
    checkouts: list[tuple[DemoCheckout, Payment]] = field(default_factory=list)

    def checkout_links(self, *, public_url: str) -> list[str]:
        return [
            f"pay: {checkout_url(payment, public_url=public_url)}  ({demo.outcome}, {payment.order.shop_order_no})"
            for demo, payment in self.checkouts
        ]

    def after_start(self, *, public_url: str) -> None:
        """Point the atone emulator's webhooks at this hub (as staff would in atone's merchant console)."""
        urls = shop_services.webhook_urls(self.atone_account, public_url=public_url)
        base = (self.atone_account.base_url or "").removesuffix("v1/")
        response = httpx.post(
            f"{base}_sandbox/merchants",
            json={
                "public_key": ATONE_SANDBOX_KEYS["public_key"],
                "secret_key": ATONE_SANDBOX_KEYS["secret_key"],
                "payment_webhook_url": urls["payment"],
                "authentication_webhook_url": urls["authentication"],
            },
            timeout=5.0,
        )
        response.raise_for_status()
        from kessai.billing.demo import seed_demo_subscriptions  # 継続課金: two demo subscriptions

        seed_demo_subscriptions(self.atone_account, sandbox_url=base)


@transaction.atomic
def seed_demo_shop(*, password: str, atone_base_url: str) -> DemoSeed:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=DEMO_USER, defaults={"email": "demo@example.jp"})
    user.set_password(password)
    user.save()
    membership = Membership.objects.filter(user=user, shop__name=DEMO_SHOP_NAME).select_related("shop").first()
    shop = (
        membership.shop
        if membership
        else shop_services.create_shop(
            name=DEMO_SHOP_NAME,
            company="株式会社Kessaiデモ",
            site_url="http://127.0.0.1:8000/",
            admin_email="admin@example.jp",
        )
    )
    shop_services.add_staff(shop, username=DEMO_USER, password=password, role=Role.OWNER)
    ApiKey.objects.filter(shop=shop, name="demo", revoked_at__isnull=True).update(revoked_at=timezone.now())
    _, api_key = shop_services.create_api_key(shop, environment="test", name="demo")
    account = ProviderAccount.objects.filter(shop=shop, provider="atone", environment="test").first()
    if account is None:
        account = shop_services.create_provider_account(
            shop,
            provider="atone",
            environment="test",
            credentials=ATONE_SANDBOX_KEYS,
            options={"capture": "manual", "recurring_capture": "manual", "recurring_result_mail": True},
            base_url=atone_base_url,
        )
    elif account.base_url != atone_base_url:
        account = shop_services.update_provider_account(account, base_url=atone_base_url)
    if not PaymentMethod.objects.filter(shop=shop, code="atone").exists():
        shop_services.create_payment_method(
            shop,
            provider_account=account,
            code="atone",
            name=ATONE_NAME,
            banner_link="https://atone.be/",
            description=ATONE_DESCRIPTION,
        )
    checkouts = [(demo, _waiting_payment(shop, demo)) for demo in DEMO_CHECKOUTS]
    return DemoSeed(shop=shop, username=DEMO_USER, api_key=api_key, atone_account=account, checkouts=checkouts)


def _waiting_payment(shop: Shop, demo: DemoCheckout) -> Payment:
    """A payment of this scenario still waiting for the buyer; a new order when the last one was paid."""
    waiting = (
        Payment.objects.select_related("order")
        .filter(shop=shop, order__shop_order_no__startswith=f"{demo.prefix}-", state=PaymentState.CREATED)
        .order_by("-created_at")
        .first()
    )
    if waiting is not None:
        return waiting
    number = Order.objects.filter(shop=shop, shop_order_no__startswith=f"{demo.prefix}-").count() + 1
    body: dict[str, Any] = {
        "shop_order_no": f"{demo.prefix}-{number:04d}",
        "amount": sum(price * quantity for _, _, price, quantity in demo.lines),
        "items": [{"sku": s, "name": n, "unit_price": p, "quantity": q} for s, n, p, q in demo.lines],
        "customer": {
            "name": demo.customer_name,
            "email": f"{demo.prefix.lower()}-{number}@example.jp",
            "phone": "090-1234-5678",
            "zip_code": "107-0052",
            "address": "東京都港区赤坂1-2-3",
        },
        "destinations": [],
    }
    order = order_service.create_order(shop, body)
    return payment_services.start_payment(order, method_ref="atone", actor="demo").payment
