"""Demo data for 継続課金: two subscriptions of the demo shop, charged by the demo's worker.

Called from ``kessai.demo_seed`` once the atone emulator runs (a buyer token is minted there, as the
buyer's first checkout would have). Idempotent: a shop that has subscriptions gets no more.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from django.utils import timezone

from kessai.billing import services
from kessai.billing.dates import jst_date
from kessai.billing.models import Subscription
from kessai.shops.models import PaymentMethod, ProviderAccount

DEMO_CUSTOMER = {
    "name": "うえる かあと",
    "name_kana": "ウエル カアト",
    "email": "member@example.jp",
    "phone": "090-1234-5678",
    "zip_code": "107-0052",
    "address": "東京都港区赤坂1-2-3",
}


def seed_demo_subscriptions(account: ProviderAccount, *, sandbox_url: str) -> int:
    """One subscription due today (the worker charges it within a minute: mails go to the console) and one
    due next month. Returns how many were created."""
    if Subscription.objects.filter(shop_id=account.shop_id).exists():
        return 0
    method = PaymentMethod.objects.filter(shop_id=account.shop_id, provider_account=account).first()
    if method is None:
        return 0
    token = httpx.post(
        f"{sandbox_url}_sandbox/authenticate", json={"phone_number": DEMO_CUSTOMER["phone"]}, timeout=5.0
    ).json()["authentication_token"]
    today = jst_date(timezone.now())
    plans = [
        ("月刊ウェルカート 定期購読", 1080, today, "1015"),
        ("オンライン教室 月謝", 5400, today + timedelta(days=30), "1027"),
    ]
    for name, amount, first, member_no in plans:
        services.create_subscription(
            method.shop,
            payment_method=method.pk,
            token=token,
            customer=DEMO_CUSTOMER,
            items=[{"sku": f"SUB-{member_no}", "name": name, "unit_price": amount, "quantity": 1}],
            amount=amount,
            first_billing_on=first,
            billing_day=min(first.day, 28),
            member_no=member_no,
            actor="demo",
        )
    return len(plans)
