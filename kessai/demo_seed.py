"""The demo shop: a staff login, an API key and test accounts pointing at the local emulators."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from kessai.shops import services as shop_services
from kessai.shops.models import ApiKey, Membership, PaymentMethod, ProviderAccount, Role, Shop

DEMO_SHOP_NAME = "Kessai デモショップ"
DEMO_USER = "demo"
# The atone emulator's documented default keys (docs/sandbox-atone.md).
ATONE_SANDBOX_KEYS = {"public_key": "kessai-demo-atone-pk01", "secret_key": "kessai-demo-atone-sk01"}
ATONE_NAME = "atone 翌月払い(コンビニ/口座振替)"


@dataclass
class DemoSeed:
    shop: Shop
    username: str
    api_key: str
    atone_account: ProviderAccount

    def after_start(self, *, public_url: str) -> None:
        """Point the atone emulator's webhooks at this hub (as staff would in atone's merchant console)."""
        urls = shop_services.webhook_urls(self.atone_account, public_url=public_url)
        base = (self.atone_account.base_url or "").removesuffix("v1/")
        httpx.post(
            f"{base}_sandbox/merchants",
            json={
                "public_key": ATONE_SANDBOX_KEYS["public_key"],
                "secret_key": ATONE_SANDBOX_KEYS["secret_key"],
                "payment_webhook_url": urls["payment"],
                "authentication_webhook_url": urls["authentication"],
            },
            timeout=5.0,
        )


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
            options={"capture": "manual"},
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
            description="<p>お支払いは翌月まとめて、コンビニ/口座振替で。</p>",
        )
    return DemoSeed(shop=shop, username=DEMO_USER, api_key=api_key, atone_account=account)
